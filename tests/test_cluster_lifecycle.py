"""A cluster task's life as schedulers run it: names that resolve late, exit codes a scheduler can act
on, the run's identity and configuration an actor task takes from its learner.

The multi-process course (a learner stopped by SIGTERM and waited for, actors without training
flags, a contradicting flag and a wrong run refused) is in tests/test_distributed.py.
"""
import dataclasses
import json
import re
import signal
import socket
import subprocess
import sys

import pytest
import tensorflow as tf

import configuration
from runtime import cluster
from runtime import learner_link
from runtime import run_config
from tests.test_distributed import REPO
from tests.test_distributed import Task
from tests.test_distributed import wait_until


def test_a_learner_name_that_resolves_late_is_waited_for(monkeypatch, caplog):
  """The real lookup (socket.getaddrinfo, as wait_for_learner and create_connection call it) fails
  for a while, as a pod's DNS name does until the pod is Ready; then the name means this machine."""
  real_getaddrinfo = socket.getaddrinfo
  calls = []

  def late(host, *args, **kwargs):
    if host == 'learner-0.impala.invalid':
      calls.append(host)
      if len(calls) <= 2:
        raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')
      host = 'localhost'
    return real_getaddrinfo(host, *args, **kwargs)
  monkeypatch.setattr(socket, 'getaddrinfo', late)
  waits = []
  monkeypatch.setattr(learner_link.time, 'sleep', waits.append)
  with socket.create_server(('localhost', 0)) as server, caplog.at_level('WARNING'):
    learner_link.wait_for_learner(f'learner-0.impala.invalid:{server.getsockname()[1]}', timeout=60)
  assert waits == [1, 2]  # Backing off, as for a learner that does not answer.
  assert caplog.text.count("The learner's host 'learner-0.impala.invalid' does not resolve yet "
                           '(Name or service not known): trying again in ') == 2
  assert len(calls) >= 3  # Then it resolved, and the learner's port answered.


def test_an_actor_waits_for_a_name_that_never_resolves_then_exits_to_be_retried(tmp_path):
  result = subprocess.run(
      [sys.executable, 'experiment.py', '--job_name=actor', '--task=0',
       '--learner_address=nosuchhost.invalid:8001', '--learner_timeout_secs=3',
       f'--logdir={tmp_path / "actor"}'], cwd=REPO, capture_output=True, text=True, timeout=120,
      check=False)
  assert result.returncode == cluster.EXIT_LEARNER_UNREACHABLE == 138, result.stderr[-2000:]
  assert "The learner's host 'nosuchhost.invalid' does not resolve yet" in result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(
      "Error: the learner's host 'nosuchhost.invalid' (--learner_address=nosuchhost.invalid:8001) "
      'did not resolve within 3 s (--learner_timeout_secs; ')
  assert not (tmp_path / 'actor').exists()


@pytest.mark.parametrize('given,message', [
    (dict(learner_address='nosuchhost.invalid'), "--learner_address must be host:port, got "
                                                 "'nosuchhost.invalid'"),
    (dict(actor_address='localhost:99999'), "--actor_address must be host:port, got 'localhost:99999'"),
    (dict(learner_timeout_secs=0.), '--learner_timeout_secs must be positive, got 0.0'),
    (dict(envs_per_process=0), '--envs_per_process must be positive, got 0'),
    (dict(local_cluster=True), '--local_cluster starts the tasks itself: leave --task at -1'),
    (dict(mode='test'), '--job_name/--task: test mode runs on one machine'),
])
def test_an_actor_task_refuses_its_own_bad_settings_before_it_connects(given, message):
  with pytest.raises(ValueError, match='^' + re.escape(message)):
    configuration.actor_task(dict(job_name='actor', task=0, **given))


def test_the_program_refuses_them_in_one_line():
  result = subprocess.run([sys.executable, 'experiment.py', '--job_name=actor', '--task=0',
                           '--learner_timeout_secs=0'], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
  assert result.returncode == 1  # Permanent, for the training operator's ExitCode policy.
  assert result.stderr.strip().splitlines()[-1] == (
      'Error: --learner_timeout_secs must be positive, got 0.0')
  assert 'not reachable' not in result.stderr  # Refused before it tried the learner.


def learner_settings(tmp_path, **given):
  """What a learner publishes: its config.json's settings."""
  config = configuration.resolve(dict(logdir=str(tmp_path / 'run'), level_name='atari/pong',
                                      num_actors=8, num_actor_tasks=4, batch_size=4, **given))
  return json.loads(run_config.as_json(config))


def test_an_actor_task_takes_the_runs_settings_from_its_learner(tmp_path):
  learner = learner_settings(tmp_path, envs_per_process=2, network='deep')
  given = dict(job_name='actor', task=3, learner_address='learner:8001', actor_threads=1)
  config = configuration.join(given, learner)
  assert (config.batch_size, config.network, config.num_actor_tasks, config.unroll_length) == (
      4, 'deep', 4, 20)  # The learner's, the Atari preset's included.
  assert (config.job_name, config.task, config.learner_address) == ('actor', 3, 'learner:8001')
  # Its machine's: given, or else the learner's; its logdir (a level cache here) is its own.
  assert (config.actor_threads, config.envs_per_process, config.logdir) == (1, 2, '/tmp/agent')
  # Given, and the same as the learner's: accepted.
  assert configuration.join(dict(given, batch_size=4, level_name='atari/pong'), learner) == config


@pytest.mark.parametrize('given,message', [
    (dict(batch_size=2), "--batch_size=2 contradicts the learner at learner:8001, whose run has "
                         "--batch_size=4: leave the flag out (an actor task takes the run's "
                         'settings from its learner)'),
    (dict(use_lstm=True), '--use_lstm contradicts the learner at learner:8001, whose run has '
                          '--nouse_lstm: '),
    (dict(task=4), r'--task must be in [0, --num_actor_tasks=4) for an actor, got 4'),
])
def test_an_actor_flag_that_contradicts_the_learner_is_refused(tmp_path, given, message):
  learner = learner_settings(tmp_path)
  with pytest.raises(ValueError) as e:
    configuration.join(dict(dict(job_name='actor', task=0, learner_address='learner:8001'), **given),
                       learner)
  assert str(e.value).startswith(message) and '\n' not in str(e.value)


def test_a_learner_of_another_version_is_refused(tmp_path):
  learner = dict(learner_settings(tmp_path), frobnicate=1)
  with pytest.raises(ValueError, match="^the learner at localhost:8001 runs another version of this "
                                       "program \\(setting 'frobnicate' is known to one of them"):
    configuration.join(dict(job_name='actor', task=0), learner)


def test_a_run_keeps_its_identity_and_a_new_run_gets_one(tmp_path):
  config = configuration.resolve(dict(logdir=str(tmp_path), level_name='atari/pong'))
  assert len(config.run_id) == 12
  run_config.write(config)
  again = configuration.resolve(dict(logdir=str(tmp_path), level_name='atari/pong'))
  assert again.run_id == config.run_id  # A restarted learner keeps its run's.
  other = configuration.resolve(dict(logdir=str(tmp_path / 'other'), level_name='atari/pong'))
  assert other.run_id != config.run_id
  # Given (a scheduler's job id), it is the run's from then on.
  assert configuration.resolve(dict(logdir=str(tmp_path), run_id='slurm-1234')).run_id == 'slurm-1234'
  # A run recorded before runs had an identity gets one.
  run_config.write(dataclasses.replace(config, run_id=''))
  assert len(configuration.resolve(dict(logdir=str(tmp_path))).run_id) == 12


def test_training_stopped_by_sigterm_exits_with_143_after_its_checkpoint(tmp_path):
  """On one machine, as a cluster's learner (tests/test_distributed.py): 128 + the signal, which the
  training operator's ExitCode policy and Slurm's requeue take for a run to go on with."""
  task = Task(tmp_path, 'train', ['--level_name=atari/pong', f'--logdir={tmp_path / "run"}',
                                  '--num_actors=2', '--batch_size=2', '--summary_secs=1',
                                  '--total_environment_frames=100000000'])
  try:
    wait_until(lambda: task.frames() > 0, 120, 'training to start')
    task.process.send_signal(signal.SIGTERM)
    assert task.process.wait(timeout=60) == 143, task.text()[-3000:]
  finally:
    if task.process.poll() is None:
      task.kill()
  checkpoint = tf.train.latest_checkpoint(tmp_path / 'run')
  assert tf.train.load_variable(checkpoint, 'num_env_frames/.ATTRIBUTES/VARIABLE_VALUE') >= task.frames()
