"""--local_cluster: the learner and the actor tasks as processes on this machine, supervised together."""
import signal
import subprocess
import sys
import time

from absl import logging

from runtime import supervision


def run_local_cluster(config, program):
  """Runs `program` (the path of experiment.py) as one learner and `num_actor_tasks` actor tasks,
  with this process's arguments; restarts actor tasks that fail; returns the learner's exit code,
  or 128 + the signal that stopped this process (SIGINT, SIGTERM)."""
  passed = [a for a in sys.argv[1:] if not a.startswith(('--local_cluster', '--nolocal_cluster',
                                                          '--job_name', '--task'))]
  command = [sys.executable, program] + passed
  env = supervision.child_environment()  # They end with this process, even if it is killed.
  learner = subprocess.Popen(command + ['--job_name=learner', '--task=0'], env=env)
  start_actor = lambda i: subprocess.Popen(command + ['--job_name=actor', f'--task={i}'], env=env)
  actors = [start_actor(i) for i in range(config.num_actor_tasks)]
  stopping = []

  def handler(signum, unused_frame):
    stopping.append(signum)
    learner.send_signal(signal.SIGINT)  # The learner writes its last checkpoint.
  previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    while learner.poll() is None:
      time.sleep(1)
      for i, actor in enumerate(actors):
        if actor.poll() is not None and actor.returncode != 0 and not stopping:
          logging.warning('Actor task %d exited with code %d: restarting it.', i, actor.returncode)
          actors[i] = start_actor(i)
  finally:
    for actor in actors:
      if actor.poll() is None:
        actor.send_signal(signal.SIGTERM)
    for actor in actors:
      try:
        actor.wait(30)
      except subprocess.TimeoutExpired:
        actor.kill()
    if learner.poll() is None:
      learner.send_signal(signal.SIGINT)
      learner.wait()
    for s, h in previous.items():
      signal.signal(s, h)
  return 128 + stopping[0] if stopping else learner.returncode
