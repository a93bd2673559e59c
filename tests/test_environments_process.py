"""Environment processes: same results as in-process, replacement of dead or hung ones, no orphans."""
import logging
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import environments
from environments import base
from environments import process as process_lib
from environments import shared_memory

HANG, RAISE, BUSY, BUSY_CHILD = -1, -2, -3, -4  # Actions the counting environment treats specially.
SPIN = 'import time\nend = time.process_time() + 2\nwhile time.process_time() < end: pass'
REPOSITORY = pathlib.Path(environments.__file__).parents[1]


class CountingEnvironment(base.Environment):
  """Reward 1 per step, episodes of 3 steps; HANG never returns, RAISE raises a ValueError."""

  def __init__(self, fail_if_exists=None, frame_size=2, exit_at_reset=None):
    if fail_if_exists and os.path.exists(fail_if_exists):
      raise RuntimeError('cannot build this environment')
    self.spec = environments.EnvSpec((frame_size, frame_size, 1), False, 2, 4)
    self._exit_at_reset = exit_at_reset

  def _begin_episode(self, first):
    if self._exit_at_reset:  # As DeepMind Lab does when a level's map is missing.
      sys.stderr.write(self._exit_at_reset + '\n')
      sys.stderr.flush()
      os._exit(1)  # pylint: disable=protected-access
    self._steps = 0
    return self._observation()

  def _act(self, action):
    if action == HANG:
      time.sleep(3600)
    if action == RAISE:
      raise ValueError('bad action for the counting environment')
    if action == BUSY:  # 2 s of CPU here, or in a process of its own (as DeepMind Lab compiles maps).
      exec(SPIN)  # pylint: disable=exec-used
    if action == BUSY_CHILD:
      subprocess.run([sys.executable, '-c', SPIN], check=True)
    self._steps += 1
    return 1., self._steps == 3

  def _observation(self):
    return {'frame': np.full(self.spec.frame_shape, self._steps, np.uint8), 'pid': os.getpid()}


def counting_environment(**kwargs):
  return CountingEnvironment(**kwargs)


def is_running(pid):
  """Whether `pid` is a live process (a zombie, one nobody has reaped yet, counts as gone)."""
  try:
    with open(f'/proc/{pid}/stat', encoding='ascii') as stat:
      state = stat.read().rsplit(')', 1)[1].split()[0]
  except FileNotFoundError:
    return False
  return state not in ('Z', 'X')


def wait_until_gone(pid, timeout=10.):
  deadline = time.monotonic() + timeout
  while is_running(pid) and time.monotonic() < deadline:
    time.sleep(.05)
  return not is_running(pid)


@pytest.fixture(name='process')
def fixture_process():
  with environments.EnvironmentProcess(counting_environment, call_timeout=.5,
                                       startup_timeout=60.) as process:
    yield process


def test_matches_the_environment_in_process():
  kwargs = dict(level_name='synthetic/dmlab', seed=4, is_test=False, config=environments.EnvConfig())
  local = environments.create_environment(**kwargs)
  with environments.EnvironmentProcess(environments.create_environment, **kwargs) as process:
    assert process.spec == local.spec
    pairs = [(process.initial(), local.initial())]
    pairs += [(process.step(a), local.step(a)) for a in np.random.RandomState(0).randint(9, size=50)]
  for remote, here in pairs:
    assert (remote.reward, remote.info, remote.done) == (here.reward, here.info, here.done)
    assert remote.observation['instruction'] == here.observation['instruction']
    np.testing.assert_array_equal(remote.observation['frame'], here.observation['frame'])


def test_killed_process_is_replaced_and_the_run_goes_on(process, caplog):
  process.initial()
  assert process.step(0).info == (1, 4)
  old_pid = process.pid
  os.kill(old_pid, signal.SIGKILL)
  with caplog.at_level(logging.ERROR):
    output = process.step(0)
  # The fresh environment's first step: done, reward 0, info (0, 0), so the agent's state resets.
  assert (output.reward, output.info, output.done) == (0, (0, 0), True)
  assert output.observation['pid'] == process.pid != old_pid
  assert process.restarts == 1
  assert not is_running(old_pid)
  assert 'died' in caplog.text and str(old_pid) in caplog.text
  assert [tuple(process.step(0).info) for _ in range(3)] == [(1, 4), (2, 8), (3, 12)]


def test_hung_process_is_replaced_after_the_timeout(process, caplog):
  process.initial()
  old_pid = process.pid
  start = time.monotonic()
  with caplog.at_level(logging.ERROR):
    output = process.step(HANG)
  assert time.monotonic() - start < 30
  assert output.done and output.info == (0, 0)
  assert process.restarts == 1 and process.pid != old_pid
  assert not is_running(old_pid)
  assert 'did not answer within 0.5 s' in caplog.text
  assert process.step(0).info == (1, 4)


@pytest.mark.parametrize('busy', [BUSY, BUSY_CHILD])
def test_a_process_busy_past_the_timeout_is_waited_for_not_replaced(process, busy):
  process.initial()
  output = process.step(busy)  # 2 s of CPU; the call timeout is 0.5 s.
  assert output.info == (1, 4) and process.restarts == 0


def test_environment_errors_are_raised_in_the_caller(process):
  process.initial()
  with pytest.raises(ValueError, match='bad action') as raised:
    process.step(RAISE)
  assert 'in _act' in str(raised.value.__cause__)  # The child's traceback.
  assert process.restarts == 0
  assert process.step(0).info == (1, 4)  # The environment still works.


def test_startup_errors_are_raised_in_the_caller():
  with environments.EnvironmentProcess(environments.create_environment,
                                       level_name='atari/no_such_game') as process:
    with pytest.raises(ValueError, match='no_such_game'):
      process.initial()


def test_a_failing_replacement_is_an_error_not_a_loop(tmp_path):
  marker = tmp_path / 'broken'
  with environments.EnvironmentProcess(counting_environment, fail_if_exists=str(marker)) as process:
    process.initial()
    marker.touch()
    os.kill(process.pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match='cannot build'):
      process.step(0)


def test_an_environment_that_cannot_start_is_an_error_with_its_message_not_a_restart():
  with environments.EnvironmentProcess(counting_environment,
                                       exit_at_reset="Didn't find map 'nowhere'") as process:
    pid = process.pid
    with pytest.raises(environments.EnvironmentProcessError) as raised:
      process.initial()
    assert process.restarts == 0 and process.pid == pid
  message = str(raised.value)
  assert "Didn't find map 'nowhere'" in message and 'exit code 1' in message
  assert 'before its environment started' in message


def test_close_leaves_no_process():
  processes = [environments.EnvironmentProcess(counting_environment) for _ in range(2)]
  processes[0].initial()  # One busy, one never used.
  pids = [p.pid for p in processes]
  for p in processes:
    p.close()
    p.close()  # Closing twice is harmless.
  assert not any(is_running(pid) for pid in pids)
  with pytest.raises(environments.EnvironmentProcessError, match='closed'):
    processes[0].step(0)


@pytest.mark.parametrize('ending', ['os.kill(os.getpid(), signal.SIGKILL)', 'sys.exit(0)'])
def test_children_end_with_their_parent(ending):
  """A parent killed outright (its children see the pipe close) or exiting without close() (atexit)."""
  script = ('import os, signal, sys, environments\n'
            "p = environments.EnvironmentProcess(environments.create_environment, "
            "level_name='synthetic/dmlab')\n"
            'p.initial()\n'
            'print(p.pid, flush=True)\n' + ending)
  result = subprocess.run([sys.executable, '-c', script], cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=60)
  child = int(result.stdout.split()[0])
  assert wait_until_gone(child)


def test_step_many_matches_one_by_one():
  config = environments.EnvConfig()
  seeds = [1, 2, 3]
  locals_ = [environments.create_environment('synthetic/dmlab', seed=s, config=config) for s in seeds]
  processes = [environments.EnvironmentProcess(environments.create_environment,
                                               level_name='synthetic/dmlab', seed=s, config=config)
               for s in seeds]
  try:
    for p, e in zip(processes, locals_):
      p.initial()
      e.initial()
    for actions in np.random.RandomState(0).randint(9, size=(20, 3)):
      remote = environments.step_many(processes, actions)
      here = [e.step(a) for e, a in zip(locals_, actions)]
      for r, h in zip(remote, here):
        assert (r.reward, r.info, r.done) == (h.reward, h.info, h.done)
        np.testing.assert_array_equal(r.observation['frame'], h.observation['frame'])
    with pytest.raises(ValueError, match='actions'):
      environments.step_many(processes, [0])
  finally:
    for p in processes:
      p.close()


def test_step_async_needs_step_wait(process):
  process.initial()
  process.step_async(0)
  with pytest.raises(environments.EnvironmentProcessError, match='step_wait'):
    process.step_async(0)
  assert process.step_wait().info == (1, 4)


def test_bad_arguments():
  with pytest.raises(ValueError, match='call_timeout'):
    environments.EnvironmentProcess(counting_environment, call_timeout=0)
  with pytest.raises(Exception, match='pickle|lambda'):
    environments.EnvironmentProcess(lambda: CountingEnvironment())


def test_shared_arrays_carry_large_arrays_and_leave_small_ones_to_the_pipe():
  shared = shared_memory.SharedArrays()
  try:
    big = np.arange(3 * 4096, dtype=np.int32).reshape(3, 4096)
    small = np.ones(4, np.float32)
    odd = np.arange(4099, dtype=np.uint16)  # Its end is not on a cache line.
    # Arrays are written in dm-tree's order (dict keys sorted): 'a_odd' first, then 'big'.
    sent = shared.share({'a_odd': odd, 'big': big, 'nested': [small, (big[0], 'text')]})
    assert isinstance(sent['big'], shared_memory._SharedArray)  # pylint: disable=protected-access
    assert sent['big'].offset > 0 and sent['big'].offset % shared_memory.SharedArrays.ALIGNMENT == 0
    assert sent['nested'][0] is small and sent['nested'][1][1] == 'text'
    taken = shared.take(sent)
    np.testing.assert_array_equal(taken['a_odd'], odd)
    np.testing.assert_array_equal(taken['big'], big)
    np.testing.assert_array_equal(taken['nested'][1][0], big[0])
    shared.take(shared.share({'big': -big}))  # The next answer overwrites the file...
    np.testing.assert_array_equal(taken['big'], big)  # ...but not what the parent took.
  finally:
    shared.close()


def test_frames_from_a_process_are_the_environments_and_stay_as_they_were():
  with environments.EnvironmentProcess(counting_environment, frame_size=64) as process:
    outputs = [process.initial()] + [process.step(0) for _ in range(3)]
  frames = [output.observation['frame'] for output in outputs]
  assert all(frame.shape == (64, 64, 1) and frame.dtype == np.uint8 for frame in frames)
  # Steps 1 and 2, then the third ends the episode and shows the next one's first frame.
  assert [np.unique(frame).tolist() for frame in frames] == [[0], [1], [2], [0]]


def test_a_process_hosts_a_group_of_environments_stepped_together():
  kwargs_list = [dict(frame_size=3), dict(frame_size=3)]
  with environments.EnvironmentProcess(environments.EnvironmentGroup, factory=counting_environment,
                                       kwargs_list=kwargs_list) as process:
    assert process.spec.frame_shape == (3, 3, 1)
    first = process.initial()  # One StepOutput for the group, its values [2, ...].
    assert first.observation['frame'].shape == (2, 3, 3, 1)
    assert first.done.tolist() == [True, True]
    outputs = process.step([0, 1])
    assert outputs.reward.tolist() == [1., 1.]
    assert len(set(outputs.observation['pid'].tolist())) == 1  # One process.
    with pytest.raises(ValueError, match='1 actions for 2 environments'):
      process.step([0])
    # A lost process comes back with every environment of the group at its start.
    os.kill(process.pid, signal.SIGKILL)
    restarted = process.step([0, 0])
    assert restarted.done.tolist() == [True, True]
    assert restarted.info.episode_step.tolist() == [0, 0]
    assert process.restarts == 1


def test_a_group_in_a_process_stacks_what_its_environments_give_in_order():
  config = environments.EnvConfig()
  kwargs_list = [dict(level_name='synthetic/dmlab', seed=seed, config=config) for seed in (1, 2, 3)]
  locals_ = [environments.create_environment(**kwargs) for kwargs in kwargs_list]
  with environments.EnvironmentProcess(environments.EnvironmentGroup,
                                       factory=environments.create_environment,
                                       kwargs_list=kwargs_list) as process:
    pairs = [(process.initial(), [e.initial() for e in locals_])]
    for actions in np.random.RandomState(0).randint(9, size=(105, 3)).tolist():  # Episodes: 100.
      pairs.append((process.step(actions), [e.step(a) for e, a in zip(locals_, actions)]))
  assert any(output.done.any() for output, _ in pairs[1:])  # Episodes ended on the way.
  for stacked, here in pairs:
    assert (stacked.reward.dtype, stacked.info.episode_return.dtype, stacked.info.episode_step.dtype,
            stacked.done.dtype) == (np.float32, np.float32, np.int32, np.bool_)
    assert stacked.reward.tolist() == [h.reward for h in here]
    assert stacked.done.tolist() == [h.done for h in here]
    assert stacked.info.episode_return.tolist() == [h.info.episode_return for h in here]
    assert stacked.info.episode_step.tolist() == [h.info.episode_step for h in here]
    np.testing.assert_array_equal(stacked.observation['frame'],
                                  np.stack([h.observation['frame'] for h in here]))
    assert stacked.observation['instruction'].tolist() == [
        h.observation['instruction'].encode('utf-8') for h in here]


def test_stack_outputs_turns_instructions_into_utf8_bytes():
  def output(instruction, reward):
    return environments.StepOutput(np.float32(reward), environments.StepOutputInfo(1.5, 8), False,
                                   {'frame': np.zeros((2, 2, 3), np.uint8), 'instruction': instruction})
  stacked = process_lib.stack_outputs([output('go left', 1.), output('café', -1.)])
  assert stacked.observation['instruction'].dtype == object
  assert stacked.observation['instruction'].tolist() == [b'go left', 'café'.encode('utf-8')]
  assert stacked.observation['frame'].shape == (2, 2, 2, 3)
  assert stacked.reward.tolist() == [1., -1.]
