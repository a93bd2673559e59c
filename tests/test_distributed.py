"""Learner and actors as separate processes over TensorFlow's runtime, with faults along the way.

The tasks take their roles from TF_CONFIG, as under Kubernetes' TFJob (whose job names, chief and
worker, the restarted tasks use), with no cluster flag; the actor tasks are given no training flag
either, and take the run's from the learner.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from runtime import run_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMES_PER_STEP = 160  # A learner step: 2 unrolls of 20 agent steps of 4 frames.


def free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


class Task:
  """An experiment.py process whose output goes to a file we can read while it runs."""

  def __init__(self, tmp_path, name, args, tf_config=None):
    self.log_path = tmp_path / f'{name}.log'
    self._log = open(self.log_path, 'w')  # pylint: disable=consider-using-with
    env = dict(os.environ, TF_CONFIG=json.dumps(tf_config)) if tf_config else None
    self.process = subprocess.Popen([sys.executable, 'experiment.py'] + args, cwd=REPO, env=env,
                                    stdout=self._log, stderr=subprocess.STDOUT)

  def text(self):
    return self.log_path.read_text(errors='replace')

  def frames(self):
    found = re.findall(r'frames (\d+) \(', self.text())
    return int(found[-1]) if found else 0

  def kill(self):
    self.process.kill()
    self.process.wait()


def wait_until(condition, timeout, what):
  deadline = time.monotonic() + timeout
  while not condition():
    if time.monotonic() > deadline:
      raise AssertionError(f'timed out waiting for {what}')
    time.sleep(0.5)


@pytest.fixture
def cluster_flags(tmp_path):
  return [f'--logdir={tmp_path / "run"}', '--level_name=atari/pong', '--num_actors=2',
          '--batch_size=2', '--summary_secs=1', '--checkpoint_secs=2', '--learner_timeout_secs=120']


@pytest.fixture
def role():
  """TF_CONFIG for a task of a cluster of a learner and 2 actor tasks on this machine's ports."""
  ports = [free_port() for _ in range(3)]

  def tf_config(job, index, learner_job='learner', actor_job='actor'):
    cluster = {learner_job: [f'localhost:{ports[0]}'],
               actor_job: [f'localhost:{port}' for port in ports[1:]]}
    return {'cluster': cluster, 'task': {'type': job, 'index': index}}
  return tf_config


def test_actor_and_learner_faults(tmp_path, cluster_flags, role):
  # A budget far away while faults happen; the restarted learner gets one just ahead of it.
  learner = Task(tmp_path, 'learner', cluster_flags + ['--total_environment_frames=100000000'],
                 role('learner', 0))
  # The same command for every actor task: its role from TF_CONFIG, the run's settings from the learner.
  actor_flags = ['--learner_timeout_secs=120']
  actors = [Task(tmp_path, f'actor{i}', actor_flags, role('actor', i)) for i in range(2)]
  try:
    wait_until(lambda: learner.frames() >= 1600, 180, 'training to start')
    run_id = run_config.load(tmp_path / 'run')['run_id']
    assert f"Joined run '{run_id}' (--logdir={tmp_path / 'run'} on the learner's machine)" in (
        actors[0].text())

    # An actor task of another run, or whose flags contradict the learner's, is refused in one line.
    address = role('learner', 0)['cluster']['learner'][0]
    by_hand = ['--job_name=actor', '--task=0', f'--learner_address={address}']
    wrong = [Task(tmp_path, 'wrong_run', by_hand + ['--run_id=another-run']),
             Task(tmp_path, 'wrong_flag', by_hand + ['--batch_size=32'])]

    # An actor dies: the learner notices and trains on with the other one.
    actors[1].kill()
    frames_then = learner.frames()
    wait_until(lambda: 'Actor 1 has sent nothing' in learner.text(), 90, 'the learner to notice')
    wait_until(lambda: learner.frames() >= frames_then + 1600, 90, 'training to go on')
    for task, line in zip(wrong, [
        f"Error: the learner at {address} trains run '{run_id}' (--logdir={tmp_path / 'run'} on its "
        "machine), not this task's run 'another-run' (--run_id): ",
        f'Error: --batch_size=32 contradicts the learner at {address}, whose run has --batch_size=2: ']):
      assert task.process.wait(timeout=120) == 1, task.text()[-3000:]
      assert task.text().strip().splitlines()[-1].startswith(line), task.text()[-3000:]
    # Restarted, it rejoins.
    actors[1] = Task(tmp_path, 'actor1_again', actor_flags, role('worker', 1, 'chief', 'worker'))
    wait_until(lambda: 'Actor 1 is sending unrolls again' in learner.text(), 120, 'actor 1 to rejoin')

    # The learner dies; restarted, it resumes from its checkpoint and the actors reconnect.
    wait_until(lambda: tf.train.latest_checkpoint(tmp_path / 'run') is not None, 60, 'a checkpoint')
    learner.kill()
    checkpoint = tf.train.latest_checkpoint(tmp_path / 'run')
    saved = tf.train.load_variable(checkpoint, 'num_env_frames/.ATTRIBUTES/VARIABLE_VALUE')
    assert saved > 0
    learner = Task(tmp_path, 'learner_again', cluster_flags + ['--total_environment_frames=100000000'],
                   role('chief', 0, 'chief', 'worker'))
    wait_until(lambda: learner.frames() >= saved + 10 * FRAMES_PER_STEP, 240,
               'the restarted learner to train with the reconnected actors')
    assert f'Restored {checkpoint} at {saved} frames' in learner.text()
    assert 'Lost the learner' in actors[0].text()

    # SIGTERM (an eviction, a time limit) stops the learner, which writes its checkpoint and exits
    # with 143 for its scheduler to restart it; the actor tasks wait for it.
    learner.process.send_signal(signal.SIGTERM)
    assert learner.process.wait(timeout=120) == 143, learner.text()[-3000:]
    final = tf.train.load_variable(tf.train.latest_checkpoint(tmp_path / 'run'),
                                   'num_env_frames/.ATTRIBUTES/VARIABLE_VALUE')
    assert final >= learner.frames()
    # Restarted with a budget a little ahead, it trains to it; then the actor tasks end with it.
    learner = Task(tmp_path, 'learner_last', cluster_flags + [
        f'--total_environment_frames={final + 60 * FRAMES_PER_STEP}'], role('chief', 0, 'chief', 'worker'))
    assert learner.process.wait(timeout=240) == 0, learner.text()[-3000:]
    for actor in actors:
      assert actor.process.wait(timeout=60) == 0, actor.text()[-3000:]
      after_stop = actor.text().split('The learner has stopped before its frame budget')[-1]
      assert f"Joined run '{run_id}'" in after_stop  # It waited for the learner, and rejoined it.
      assert after_stop.strip().splitlines()[-1].endswith('The learner has finished: stopping.')
  finally:
    for task in [learner] + actors + locals().get('wrong', []):
      if task.process.poll() is None:
        task.kill()


def test_unreachable_learner_is_a_clear_error(tmp_path):
  start = time.monotonic()
  result = subprocess.run(
      [sys.executable, 'experiment.py', '--job_name=actor', '--task=0',
       f'--learner_address=localhost:{free_port()}', '--learner_timeout_secs=4',
       f'--logdir={tmp_path}'], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 138  # For its scheduler to start it again (docs/cluster.md).
  assert 'no learner answered at --learner_address=localhost:' in result.stderr
  assert time.monotonic() - start < 60
  # It said, each time, that it would try again, and after how long (1 s, then 2 s: backing off).
  waits = re.findall(r'is not reachable \(Connection refused\): trying again in (\d+) s', result.stderr)
  assert waits[:2] == ['1', '2'], result.stderr[-2000:]
