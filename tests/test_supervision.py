"""Children started with runtime.supervision end with their parent, even one killed outright."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from runtime import supervision

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = textwrap.dedent('''
    import os, sys, time
    sys.path.insert(0, {repo!r})
    from runtime import supervision
    tied = supervision.end_with_parent()
    inherited = supervision.PARENT_VARIABLE in os.environ
    # The signal may come as soon as `ready` exists, before the next line on a loaded machine.
    try:
      with open({ready!r} + '.tmp', 'w') as f:
        f.write(f'tied={{tied}} inherited={{inherited}}')
      os.rename({ready!r} + '.tmp', {ready!r})
      time.sleep(60)
    except KeyboardInterrupt:  # What a training run stops on, writing its last checkpoint.
      open({stopped!r}, 'w').close()
''')

PARENT = textwrap.dedent('''
    import signal, subprocess, sys, time
    sys.path.insert(0, {repo!r})
    from runtime import supervision
    if {ignoring_sigint}:  # As a shell leaves a program started with `&` (and its children).
      signal.signal(signal.SIGINT, signal.SIG_IGN)
    subprocess.Popen([sys.executable, '-c', {child!r}], env={env})
    time.sleep(60)
''')


def wait_for(path, seconds):
  deadline = time.monotonic() + seconds
  while not os.path.exists(path) and time.monotonic() < deadline:
    time.sleep(0.1)
  return os.path.exists(path)


def run_family(tmp_path, tied, ignoring_sigint=False):
  """Starts a parent that starts a child (with child_environment() if `tied`), kills the parent with
  SIGKILL; returns (what the child said when it started, whether it stopped within 10 s; 3 s when
  not tied: the signal, when it comes, comes at once)."""
  ready, stopped = str(tmp_path / 'ready'), str(tmp_path / 'stopped')
  child = CHILD.format(repo=REPO, ready=ready, stopped=stopped)
  env = 'supervision.child_environment()' if tied else 'None'
  parent = subprocess.Popen([sys.executable, '-c', PARENT.format(
      repo=REPO, child=child, env=env, ignoring_sigint=ignoring_sigint)])
  try:
    assert wait_for(ready, 30), 'the child did not start'
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    with open(ready) as f:
      started = f.read()
    return started, wait_for(stopped, 10 if tied else 3)
  finally:
    parent.kill()


@pytest.mark.parametrize('ignoring_sigint', [False, True])
def test_a_child_stops_when_its_parent_is_killed(tmp_path, ignoring_sigint):
  started, stopped = run_family(tmp_path, tied=True, ignoring_sigint=ignoring_sigint)
  assert started == 'tied=True inherited=False'  # Its own children would not be tied to it.
  assert stopped


def test_without_it_a_child_outlives_its_killed_parent(tmp_path):
  # The control: what runs started as before were left to do (killed here by the test's end).
  started, stopped = run_family(tmp_path, tied=False)
  assert started == 'tied=False inherited=False'
  assert not stopped
  subprocess.run(['pkill', '-f', str(tmp_path / 'ready')], check=False)


def test_a_child_whose_parent_has_already_gone_does_not_start():
  # The parent named is not this child's (the test's process is): as if it had died and the child
  # had been adopted before it could ask for the signal.
  env = dict(os.environ, **{supervision.PARENT_VARIABLE: '1'})
  result = subprocess.run(
      [sys.executable, '-c', f'import sys; sys.path.insert(0, {REPO!r}); from runtime import '
       'supervision; supervision.end_with_parent(); print("started")'],
      env=env, capture_output=True, text=True, check=False)
  assert result.returncode == 1
  assert 'started' not in result.stdout
  assert 'has gone: not starting' in result.stderr


class FinishedProcess:
  """What subprocess.Popen returns, for a program that has already exited."""
  started = []

  def __init__(self, command, **kwargs):
    FinishedProcess.started.append((command, kwargs))
    self.returncode = 0

  def poll(self):
    return 0

  def wait(self, timeout=None):
    return 0


def test_local_cluster_tasks_are_started_to_end_with_it(monkeypatch, tmp_path):
  import configuration  # pylint: disable=import-outside-toplevel
  from runtime import local_cluster  # pylint: disable=import-outside-toplevel
  FinishedProcess.started = []
  monkeypatch.setattr(local_cluster.subprocess, 'Popen', FinishedProcess)
  config = configuration.resolve(dict(logdir=str(tmp_path), level_name='atari/pong', num_actors=2,
                                      local_cluster=True))
  assert local_cluster.run_local_cluster(config, program='experiment.py') == 0
  assert len(FinishedProcess.started) == 1 + config.num_actor_tasks
  for _, kwargs in FinishedProcess.started:
    assert kwargs['env'][supervision.PARENT_VARIABLE] == str(os.getpid())
