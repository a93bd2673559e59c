"""benchmarks/throughput.py's accounting: CPU by role that survives a replaced process, rates of what
the actors made, and the checks that print a contradictory measurement as unreliable."""
import os
import subprocess
import sys
import time

import pytest
from absl.testing import flagsaver

from benchmarks import training_run

pytestmark = pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='needs Linux /proc')


def _burn(seconds):
  end = time.process_time() + seconds
  while time.process_time() < end:
    pass


BURN = 'import time\nend = time.process_time() + {0}\nwhile time.process_time() < end: pass\n' \
       'time.sleep(60)'


def test_ledger_keeps_the_cpu_of_a_child_that_ended():
  """A child seen at a sample and gone by the next keeps its CPU; the old sum went negative."""
  ledger = training_run.CpuLedger()
  child = subprocess.Popen([sys.executable, '-c', BURN.format(.6)])
  try:
    time.sleep(.2)
    ledger.sample()
    deadline = time.monotonic() + 10
    while training_run.proc_cpu.ticks(f'/proc/{child.pid}/stat') < .5 * os.sysconf('SC_CLK_TCK'):
      assert time.monotonic() < deadline, 'the child did not burn its CPU'
      time.sleep(.05)
    ledger.sample()
  finally:
    child.kill()
    child.wait()
  ledger.sample()  # The child is gone: what it used since the first sample still counts.
  used = ledger.seconds_by_role()
  assert .2 <= used['environments'] <= 1.5, used
  assert all(seconds >= 0 for seconds in used.values())


def test_ledger_counts_a_grandchild_while_it_runs():
  """An environment process's own children (DeepMind Lab's map compilers) count in the window they
  run in, before their parent has waited for them."""
  spawner = ('import subprocess, sys, time\n'
             f'subprocess.Popen([sys.executable, "-c", {BURN.format(.6)!r}])\n'
             'time.sleep(60)')
  ledger = training_run.CpuLedger()
  child = subprocess.Popen([sys.executable, '-c', spawner])
  try:
    ledger.sample()
    deadline = time.monotonic() + 20
    while ledger.seconds_by_role()['environments'] < .4:
      assert time.monotonic() < deadline, ledger.seconds_by_role()
      time.sleep(.1)
      ledger.sample()
  finally:
    for pid in training_run.proc_cpu.descendants(child.pid):
      os.kill(int(pid), 9)
    child.kill()
    child.wait()


def test_ledger_counts_threads_by_role_and_a_thread_that_ended():
  import threading  # pylint: disable=import-outside-toplevel
  ledger = training_run.CpuLedger()
  ledger.sample()
  actor = threading.Thread(target=_burn, args=(.3,), name='actor_0')
  actor.start()
  deadline = time.monotonic() + 10
  while ledger.seconds_by_role()['actors'] < .1:  # Sampled while it runs...
    assert time.monotonic() < deadline, 'the actor thread did not burn its CPU'
    time.sleep(.05)
    ledger.sample()
  actor.join()
  _burn(.2)  # The main thread: 'learner and rest'.
  ledger.sample()
  used = ledger.seconds_by_role()
  assert used['actors'] >= .1  # ...and still counted once it has ended.
  assert used['learner and rest'] >= .1
  assert used['inference'] == 0.


def test_rates_count_what_the_actors_made_in_the_window():
  stats = dict(steps=5, first_time=10., last_time=30., frames=64_000, first_frames=0,
               window_unrolls=40, window_seconds=20.)
  seconds, frames_per_second, updates = training_run.timed_rates(stats, 'x', 20, 400)
  assert (seconds, frames_per_second, updates) == (20., 40 * 400 / 20., 4 / 20.)
  # A learner slower than the window (the deep one on DeepMind Lab) still has the actors' rate.
  assert training_run.timed_rates(dict(stats, steps=1), 'x', 20, 400)[1:] == (40 * 400 / 20., 0.)
  # Without the actors' count (the asynchronous agents), the learner's frames.
  del stats['window_unrolls']
  assert training_run.timed_rates(stats, 'x', 20, 400)[1] == 64_000 / 20.
  with pytest.raises(SystemExit, match='fewer than 2 updates'):
    training_run.timed_rates(dict(stats, steps=1), 'x', 20)


def _row(**changes):
  stats = dict(steal=0., ended_early=False, cpu_by_role=dict.fromkeys(training_run.ROLES, 1.))
  row = dict(name='lab_shallow', frames=900., ideal=1000., envs_alone=1200., drift=.1, stats=stats)
  stats.update(changes.pop('stats', {}))
  row.update(changes)
  return row


@pytest.fixture(name='throughput')
def fixture_throughput():
  from benchmarks import throughput  # pylint: disable=import-outside-toplevel
  return throughput


def test_a_consistent_measurement_is_reliable(throughput):
  assert throughput.unreliable(_row()) == []


@pytest.mark.parametrize('changes, why', [
    (dict(frames=1070.), '107% of the ideal'),
    (dict(envs_alone=800.), 'outran its environments alone'),
    (dict(drift=-.38), 'drifted -38%'),
    (dict(stats=dict(steal=.2)), 'hypervisor took 20%'),
    (dict(stats=dict(ended_early=True)), 'stopped before the end'),
    (dict(stats=dict(cpu_by_role=dict(dict.fromkeys(training_run.ROLES, 1.), inference=0.))),
     'no CPU time recorded for inference'),
])
def test_contradictions_are_unreliable(throughput, changes, why):
  reasons = throughput.unreliable(_row(**changes))
  assert len(reasons) == 1 and why in reasons[0], reasons


def test_lab_configs_without_deepmind_lab_say_how_to_install_it(throughput, monkeypatch):
  monkeypatch.setattr(throughput.importlib.util, 'find_spec', lambda name: None)
  with pytest.raises(SystemExit, match=r'--configs=lab_deep needs DeepMind Lab.*make install '
                                       r'DMLAB_WHEEL='):
    throughput.check_levels(['pong', 'lab_deep'])
  throughput.check_levels(['pong', 'dmlab'])  # Nothing to install for these.


def test_each_config_runs_alone_with_the_flags_given(throughput):
  with flagsaver.flagsaver():
    throughput.FLAGS.unparse_flags()
    throughput.FLAGS(['throughput.py', '--configs', 'pong,lab_deep', '--seconds', '5', '--record',
                      '--dmlab_actors=8'])
    command = throughput.one_config_command('lab_deep')
  assert command[1].endswith('benchmarks/throughput.py')
  assert sorted(command[2:]) == ['--configs=lab_deep', '--dmlab_actors=8', '--record', '--seconds=5']
