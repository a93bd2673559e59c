"""A cluster across hosts, faults injected while it trains, and its throughput beside --local_cluster's.

    .venv/bin/python benchmarks/cluster_faults.py [--throughput_secs=60] [--link_down_secs=30]

Needs root (it makes network namespaces: benchmarks/netns_hosts.py). Three hosts on one switch: the
learner's and two actor hosts, each running --tasks_per_host actor tasks of experiment.py (Atari Pong,
the paper's Atari settings but --batch_size). In one training run, one after another:
  link down       actor host 1's link is cut at the switch for --link_down_secs, then restored;
  actor host kill every process on actor host 2 is SIGKILLed, and its tasks started again after
                  --restart_delay_secs (what a scheduler that restarts failed tasks does);
  learner restart the learner is SIGKILLed and started again at once, from its last checkpoint, with
                  a budget a few steps ahead: the run must then end, and every actor task with it.
For each: did the run go on, the seconds from the repair (link up, restart) until the host's actors'
unrolls (or, for the learner, trained frames) flowed again, the frames lost and the episodes cut
(runtime/arrivals.py's count from the learner's log; for the learner, the frames it had trained
since its checkpoint), and whether the checkpoint it resumed from was intact. Then the cross-host
rate (the first --throughput_secs of training, before any fault) beside --local_cluster's, run
with the same settings on this machine's loopback right after. Prints one table.
"""
import datetime
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import cluster_throughput  # pylint: disable=wrong-import-position
from benchmarks import netns_hosts  # pylint: disable=wrong-import-position
from runtime import startup  # pylint: disable=wrong-import-position
startup.import_tensorflow_quietly()  # TensorFlow's start-up notices filtered, as in experiment.py.
import tensorflow as tf  # pylint: disable=wrong-import-position,g-import-not-at-top

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT = 8001

FLAGS = flags.FLAGS


def define_flags():
  """The benchmark's flags; not at import, where tests import its parts beside the program's flags."""
  flags.DEFINE_integer('tasks_per_host', 2, 'Actor tasks on each actor host.')
  flags.DEFINE_integer('actors_per_task', 2, 'Actors each actor task plays.')
  flags.DEFINE_integer('batch_size', 8, 'Unrolls a learner step trains on.')
  flags.DEFINE_integer('throughput_secs', 60, 'Seconds over which each rate is measured.')
  flags.DEFINE_integer('link_down_secs', 30, 'How long actor host 1 is cut off.')
  flags.DEFINE_integer('restart_delay_secs', 5, 'Seconds between killing actor host 2 and restarting.')
  flags.DEFINE_integer('settle_secs', 20, 'Seconds of normal training between faults.')
  flags.DEFINE_integer('recover_timeout_secs', 180, 'How long to wait for a fault to be recovered.')


def clock():
  """Seconds since midnight, as the log lines' times are written (local time)."""
  now = datetime.datetime.now()
  return now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6


def experiment_task(hosts, host, log_path, args):
  """experiment.py with `args` on host `host`, its output in `log_path` (a netns_hosts.Task)."""
  return netns_hosts.Task(hosts, host, log_path, [sys.executable, 'experiment.py'] + list(args),
                          cwd=REPO)


class CrossHostCluster:
  """A learner on host 'learner' and actor tasks on the actor hosts, over `hosts`' network."""

  def __init__(self, hosts, actor_hosts, tasks_per_host, actors_per_task, logdir, logs, extra):
    self.hosts = hosts
    self.actor_hosts = actor_hosts
    self.num_tasks = len(actor_hosts) * tasks_per_host
    self.num_actors = self.num_tasks * actors_per_task
    self.tasks_per_host = tasks_per_host
    self.logs = logs
    address = f'--learner_address={hosts.address["learner"]}:{PORT}'
    self.flags = [f'--logdir={logdir}', '--level_name=atari/pong', f'--num_actors={self.num_actors}',
                  f'--num_actor_tasks={self.num_tasks}', address] + list(extra)
    # An actor task takes the run's settings from the learner (a restarted one's budget included).
    self.actor_flags = [address] + [f for f in extra if f.startswith('--learner_timeout_secs')]
    self.learner = None
    self.learners = []  # Every learner process started, in order.
    self.actors = {}  # Task index -> its latest netns_hosts.Task.

  def start_learner(self, extra=()):
    log = os.path.join(self.logs, f'learner{len(self.learners) + 1}.log')
    self.learner = experiment_task(self.hosts, 'learner', log,
                                   self.flags + ['--job_name=learner', '--task=0'] + list(extra))
    self.learners.append(self.learner)
    return self.learner

  def host_tasks(self, host):
    first = self.actor_hosts.index(host) * self.tasks_per_host
    return list(range(first, first + self.tasks_per_host))

  def host_actors(self, host):
    """The actor indices host `host` plays (task t plays actors t, t + N, ...)."""
    tasks = self.host_tasks(host)
    return [a for a in range(self.num_actors) if a % self.num_tasks in tasks]

  def start_actors(self, host):
    for task in self.host_tasks(host):
      port = PORT + 1 + task % self.tasks_per_host
      self.actors[task] = experiment_task(
          self.hosts, host, os.path.join(self.logs, f'actor{task}.log'),
          self.actor_flags + ['--job_name=actor', f'--task={task}',
                              f'--actor_address={self.hosts.address[host]}:{port}'])

  def learner_text(self):
    return ''.join(task.text() for task in self.learners)

  def frames(self):
    points = cluster_throughput.progress(self.learner.text())
    return points[-1][1] if points else 0

  def wait_for(self, condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
      if time.monotonic() > deadline:
        raise TimeoutError(f'timed out after {timeout} s waiting for {what}')
      time.sleep(0.5)


def first_arrivals(text, actors, since):
  """{actor: seconds since midnight} of each actor's first unroll seen after `since`: the first log
  line of runtime.arrivals about it (back, started again, or a gap), or failing that None."""
  found = {}
  for t, line in cluster_throughput.log_lines(text):
    match = re.search(r'Actor (\d+)(?: is sending unrolls again| started again|: )', line)
    if t >= since and match and int(match.group(1)) in actors:
      found.setdefault(int(match.group(1)), t)
  return {actor: found.get(actor) for actor in actors}


def losses(text, actors, since, until):
  """(frames lost, episodes cut) of `actors` that the learner's log reports between the times."""
  frames = cut = 0
  for t, line in cluster_throughput.log_lines(text):
    match = re.search(r'Actor (\d+)', line)
    if not (since <= t <= until and match and int(match.group(1)) in actors):
      continue
    lost = re.search(r': (\d+) frames of its unrolls never arrived', line)
    frames += int(lost.group(1)) if lost else 0
    cut += 'was cut' in line or 'of one episode to' in line
  return frames, cut


def actor_fault(cluster, host, fault, inject, repair, down_secs, timeout):
  """Injects an actor-host fault, repairs it `down_secs` later, and measures how long until the
  host's actors' unrolls flow again and what was lost."""
  actors = cluster.host_actors(host)
  frames_at = cluster.frames()
  injected = clock()
  inject()
  time.sleep(down_secs)
  repaired = clock()
  repair()
  try:
    cluster.wait_for(lambda: None not in first_arrivals(cluster.learner_text(), actors,
                                                        injected).values(), timeout,
                     f'{host}\'s actors after the {fault}')
    back = max(first_arrivals(cluster.learner_text(), actors, injected).values())
    survived = cluster.learner.process.poll() is None
  except TimeoutError:
    back, survived = None, False
  time.sleep(2)  # The loss lines of the unrolls around the break.
  lost, cut = losses(cluster.learner_text(), actors, injected, clock())
  return dict(fault=fault, injected=frames_at, survived=survived,
              recover=None if back is None else back - repaired, lost=f'{lost:,} frames',
              cut=cut, checkpoint='not touched')


def learner_restart(cluster, logdir, steps_to_finish, frames_per_step, timeout):
  """SIGKILLs the learner and starts it again from its checkpoint with a budget a few steps ahead;
  measures the frames it lost and how long until it trains again, and checks the run's end."""
  frames_at = cluster.frames()
  cluster.hosts.kill_all('learner')
  killed = clock()
  last_reported = cluster.frames()
  checkpoint = tf.train.latest_checkpoint(logdir)
  saved = int(tf.train.load_variable(checkpoint, 'num_env_frames/.ATTRIBUTES/VARIABLE_VALUE'))
  budget = saved + steps_to_finish * frames_per_step
  restarted = clock()
  learner = cluster.start_learner([f'--total_environment_frames={budget}'])
  back = None
  try:
    trained = lambda: [t for t, f in cluster_throughput.progress(learner.text()) if f > saved]
    cluster.wait_for(trained, timeout, 'the restarted learner to train')
    back = trained()[0]
    cluster.wait_for(lambda: learner.process.poll() is not None, timeout, 'the learner to finish')
    cluster.wait_for(lambda: all(t.process.poll() is not None for t in cluster.actors.values()), 60,
                     'the actor tasks to end with the learner')
  except TimeoutError as e:
    print(e)
  intact = f'Restored {checkpoint} at {saved} frames' in learner.text()
  ended = learner.process.poll() == 0
  actors_ended = all(t.process.poll() == 0 and 'The learner has finished' in t.text()
                     for t in cluster.actors.values())
  # Actor tasks that lost the learner start again, environments and all: their episodes are cut.
  cut = sum(len(range(task, cluster.num_actors, cluster.num_tasks))
            for task, t in cluster.actors.items() if 'Lost the learner' in t.text())
  return dict(fault='learner restart', injected=frames_at, survived=ended and actors_ended,
              recover=None if back is None else back - restarted,
              lost=f'{last_reported - saved:,} frames (trained after its checkpoint at {saved:,})',
              cut=cut, checkpoint='intact' if intact else 'NOT RESTORED', killed_at=killed,
              ended=ended, actors_ended=actors_ended)


def local_cluster_rate(extra, seconds, num_actors, num_tasks):
  """--local_cluster's frames/s with the same settings, on this machine's loopback."""
  with tempfile.TemporaryDirectory() as logdir, tempfile.TemporaryFile('w+') as log:
    command = [sys.executable, 'experiment.py', '--local_cluster', '--level_name=atari/pong',
               f'--logdir={logdir}', f'--num_actors={num_actors}', f'--num_actor_tasks={num_tasks}',
               f'--learner_address=localhost:{PORT}'] + list(extra)
    process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
      log.seek(0)
      if cluster_throughput.progress(log.read()):
        break
      time.sleep(1)
    start = clock()
    time.sleep(seconds)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    log.seek(0)
    return cluster_throughput.rate(cluster_throughput.progress(log.read()), start, start + seconds)


def print_table(rows, cross, local, settings):
  print(f'\nA cluster across 3 network-namespace hosts on one machine ({os.cpu_count()} cores): '
        f'{settings}.')
  print('| fault | injected at | survived | s to recover | lost | episodes cut | checkpoint |')
  print('|---|---|---|---|---|---|---|')
  for r in rows:
    recover = '-' if r['recover'] is None else f'{r["recover"]:.1f}'
    print(f'| {r["fault"]} | {r["injected"]:,} frames | {"yes" if r["survived"] else "NO"} | '
          f'{recover} | {r["lost"]} | {r["cut"]} | {r["checkpoint"]} |')
  print(f'\nThroughput over {FLAGS.throughput_secs} s: across hosts {cross:.0f} frames/s, '
        f'--local_cluster {local:.0f} frames/s: {100 * cross / local:.0f}% of the one-host rate.')


def main(argv):
  del argv
  why = netns_hosts.unavailable()
  if why:
    sys.exit(f'Cannot make the hosts: {why}.')
  extra = [f'--batch_size={FLAGS.batch_size}', '--summary_secs=1', '--checkpoint_secs=20',
           '--learner_timeout_secs=300', '--total_environment_frames=1000000000']
  num_tasks = 2 * FLAGS.tasks_per_host
  settings = (f'Atari Pong, shallow network, batch {FLAGS.batch_size} x unroll 20, '
              f'{num_tasks * FLAGS.actors_per_task} actors in {num_tasks} actor tasks, '
              f'{FLAGS.tasks_per_host} a host')
  with tempfile.TemporaryDirectory() as workdir, netns_hosts.Hosts(
      ['learner', 'actors1', 'actors2']) as hosts:
    logdir = os.path.join(workdir, 'run')
    cluster = CrossHostCluster(hosts, ['actors1', 'actors2'], FLAGS.tasks_per_host,
                               FLAGS.actors_per_task, logdir, workdir, extra)
    cluster.start_learner()
    for host in cluster.actor_hosts:
      cluster.start_actors(host)
    print(f'Logs: {workdir}. Waiting for training to start...', flush=True)
    cluster.wait_for(lambda: cluster.frames() > 0, 300, 'training to start')
    start = clock()
    time.sleep(FLAGS.throughput_secs)
    cross = cluster_throughput.rate(cluster_throughput.progress(cluster.learner.text()), start,
                                    start + FLAGS.throughput_secs)
    print(f'Across hosts: {cross:.0f} frames/s.', flush=True)

    rows = [actor_fault(cluster, 'actors1', 'link down', lambda: hosts.set_link('actors1', False),
                        lambda: hosts.set_link('actors1', True), FLAGS.link_down_secs,
                        FLAGS.recover_timeout_secs)]
    print(rows[-1], flush=True)
    time.sleep(FLAGS.settle_secs)
    rows.append(actor_fault(
        cluster, 'actors2', 'actor host killed', lambda: hosts.kill_all('actors2'),
        lambda: cluster.start_actors('actors2'), FLAGS.restart_delay_secs,
        FLAGS.recover_timeout_secs))
    print(rows[-1], flush=True)
    time.sleep(FLAGS.settle_secs)
    frames_per_step = FLAGS.batch_size * 20 * 4
    rows.append(learner_restart(cluster, logdir, 20, frames_per_step, FLAGS.recover_timeout_secs))
    print(rows[-1], flush=True)
  local = local_cluster_rate(extra, FLAGS.throughput_secs, num_tasks * FLAGS.actors_per_task,
                             num_tasks)
  print_table(rows, cross, local, settings)


if __name__ == '__main__':
  define_flags()
  app.run(main)
