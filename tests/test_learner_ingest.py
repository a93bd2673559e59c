"""benchmarks/learner_ingest.py's parts: its flags' checks, the rows and the derived table's
arithmetic (against NumPy on random measurements), when a row is unreliable, and that a run that
fails or is unreliable writes nothing to its results directory.

The one test that runs a learner across network namespaces is skipped, with the reason, where they
cannot be made (not root, no iproute2).
"""
import os
import signal
import subprocess
import sys
import time

from absl import flags
import numpy as np
import pytest

from benchmarks import ingest_report
from benchmarks import learner_ingest
from benchmarks import netns_hosts

SCRIPT = os.path.join(learner_ingest.REPO, 'benchmarks', 'learner_ingest.py')


def default_values():
  flag_values = flags.FlagValues()
  names = learner_ingest.define_flags(flag_values)
  flag_values(['learner_ingest'])
  return {name: flag_values[name].value for name in names}


def test_the_defaults_pass_and_give_the_task_counts_in_order():
  values = dict(default_values(), actor_tasks=['8', '1', '4', '2'])
  assert learner_ingest.check(values) == [1, 2, 4, 8]


@pytest.mark.parametrize('changes, message', [
    (dict(actor_tasks=['0', '2']), "--actor_tasks must be distinct positive integers, got '0,2'"),
    (dict(actor_tasks=['two']), "--actor_tasks must be distinct positive integers, got 'two'"),
    (dict(actor_tasks=['2', '2']), "--actor_tasks must be distinct positive integers, got '2,2'"),
    (dict(actor_tasks=[]), "--actor_tasks must be distinct positive integers, got ''"),
    (dict(actor_hosts=0), '--actor_hosts must be in [1, 250], got 0'),
    (dict(actor_hosts=1, actor_tasks=['101']), '--actor_tasks=101 is more than 100 a host'),
    (dict(seconds=0), '--seconds must be positive, got 0'),
    (dict(unrolls_per_enqueue=0), '--unrolls_per_enqueue must be positive, got 0'),
    (dict(warmup_secs=-1), '--warmup_secs must be >= 0, got -1'),
    (dict(actor_steps_per_second=-5.), '--actor_steps_per_second must be >= 0, got -5.0'),
    (dict(results_name='results/ingest'),
     "--results_name must be a file name without a folder, got 'results/ingest'"),
    (dict(seconds=60, warmup_secs=10, timeout_secs=70),
     '--timeout_secs must exceed --seconds + --warmup_secs (70), got 70'),
])
def test_bad_flags_are_refused_by_name(changes, message):
  with pytest.raises(ValueError) as raised:
    learner_ingest.check(dict(default_values(), **changes))
  assert str(raised.value).startswith(message)


def test_actor_tasks_go_round_robin_over_the_hosts_with_a_port_each_on_a_host():
  assert learner_ingest.placement(5, 2) == [('actors1', 8002), ('actors2', 8002), ('actors1', 8003),
                                            ('actors2', 8003), ('actors1', 8004)]


def random_result(rng):
  """What ingest_tasks' learner writes, with random measurements."""
  threads = dict(zip(ingest_report.GROUPS, rng.uniform(0, 10, len(ingest_report.GROUPS))))
  return dict(seconds=rng.uniform(10, 60), unrolls=int(rng.integers(50, 5000)), steps=0,
              unroll_bytes=int(rng.integers(10 ** 5, 3 * 10 ** 6)),
              weights_bytes=int(rng.integers(10 ** 5, 10 ** 7)), received=rng.uniform(1e8, 1e9),
              sent=rng.uniform(1e8, 1e9), learner_cpu=rng.uniform(1, 60), actor_cpu=rng.uniform(1, 60),
              threads=threads, cores=2, learner_waited=1.,
              machine=dict(processes=rng.uniform(0, 2), interrupts=0.01, steal=0.))


def test_a_row_and_the_derived_table_match_numpy_on_random_measurements():
  rng = np.random.default_rng(7)
  for _ in range(20):
    tasks = sorted(rng.choice(np.arange(1, 65), size=4, replace=False).tolist())
    results = [random_result(rng) for _ in tasks]
    per_enqueue, rate, atari, length = int(rng.integers(1, 5)), rng.uniform(50, 3000), rng.uniform(
        500, 5000), int(rng.integers(10, 200))
    rows = [ingest_report.point_row(t, r, per_enqueue, True) for t, r in zip(tasks, results)]

    seconds = np.array([r['seconds'] for r in results])
    unrolls = np.array([r['unrolls'] for r in results])
    learner_cpu = np.array([r['learner_cpu'] for r in results])
    rates = unrolls / seconds
    np.testing.assert_allclose([r['unrolls_per_second'] for r in rows], rates)
    np.testing.assert_allclose([r['payload_mb_per_second'] for r in rows],
                               unrolls * [r['unroll_bytes'] for r in results] / seconds / 1e6)
    np.testing.assert_allclose([r['weights_mb_per_second'] for r in rows],
                               unrolls / per_enqueue * [r['weights_bytes'] for r in results]
                               / seconds / 1e6)
    np.testing.assert_allclose([r['other_cores'] for r in rows],
                               [r['machine']['processes'] + r['machine']['interrupts']
                                for r in results]
                               - (learner_cpu + [r['actor_cpu'] for r in results]) / seconds)

    d = ingest_report.derived(rows, rate, length, atari)
    best = int(np.argmax(rates))
    cpu = learner_cpu[best] / unrolls[best]
    paper_unrolls = 150 * rate / length
    expected = dict(
        peak_tasks=tasks[best], learner_cpu_per_unroll=cpu, unrolls_per_learner_core=1 / cpu,
        actors_per_learner_core=length / (cpu * rate), actors_at_peak=rates[best] * length / rate,
        paper_learner_cores=paper_unrolls * cpu,
        paper_received_mb_per_second=paper_unrolls * results[best]['unroll_bytes'] / 1e6,
        paper_sent_mb_per_second=paper_unrolls * results[best]['weights_bytes'] / per_enqueue / 1e6,
        dmlab30_actor_core_hours=1e10 / 4 / rate / 3600,
        dmlab30_learner_core_hours=1e10 / 4 / length * cpu / 3600,
        atari57_actor_core_hours=57 * 2e8 / 4 / atari / 3600)
    for name, value in expected.items():
      assert d[name] == pytest.approx(value, rel=1e-9), name
  assert d['dmlab30_paper_learner_hours'] == pytest.approx(92.59, abs=0.01)  # 1e10 at 30K frames/s.
  assert d['atari57_paper_learner_hours'] == pytest.approx(105.56, abs=0.01)
  without_atari = ingest_report.derived(rows, rate, length)
  assert without_atari['atari57_actor_core_hours'] is None
  lines = ingest_report.format_derived(without_atari, rate, length, trained=True)
  assert f'| DeepMind Lab actors one learner core absorbs | {length / (cpu * rate):,.0f} |' in lines
  assert any('actors not given (--atari_actor_steps_per_second)' in line for line in lines)
  assert f'{paper_unrolls * cpu:.2f} learner cores of ingest and training' in '\n'.join(lines)


def test_saturation_is_where_more_tasks_stop_adding_a_tenth():
  rows = lambda rates: [dict(tasks=t, unrolls_per_second=r) for t, r in zip([1, 2, 4, 8], rates)]
  assert ingest_report.saturation(rows([10, 20, 21.5, 21.6])) == 2
  assert ingest_report.saturation(rows([10, 20, 40, 43])) == 4
  assert ingest_report.saturation(rows([10, 20, 40, 80])) is None


def test_a_run_writes_its_results_only_when_every_row_is_reliable(tmp_path):
  rng = np.random.default_rng(3)
  quiet = [ingest_report.point_row(t, dict(random_result(rng), learner_cpu=10., actor_cpu=10.,
                                           seconds=20., machine=dict(processes=1.1, interrupts=0.,
                                                                     steal=0.)), 1, True)
           for t in (1, 2)]
  assert [ingest_report.unreliable(r) for r in quiet] == [None, None]
  busy = dict(quiet[1], other_cores=0.4)
  stolen = dict(quiet[1], steal=0.08)
  assert 'not quiet' in ingest_report.unreliable(busy)
  assert 'steal' in ingest_report.unreliable(stolen)

  doubts = ingest_report.publish(str(tmp_path / 'unreliable'), 'text\n', [quiet[0], busy])
  assert doubts == [f'2 actor tasks: {ingest_report.unreliable(busy)}']
  assert not (tmp_path / 'unreliable').exists()

  assert ingest_report.publish(str(tmp_path / 'reliable'), 'the table\n', quiet) == []
  assert (tmp_path / 'reliable' / 'learner_ingest.txt').read_text() == 'the table\n'
  assert (tmp_path / 'reliable' / 'learner_ingest.png').read_bytes().startswith(b'\x89PNG')


def run_script(args, **kwargs):
  return subprocess.run([sys.executable, SCRIPT] + args, capture_output=True, text=True, timeout=300,
                        check=False, **kwargs)


def test_bad_flags_and_a_machine_without_namespaces_get_one_line_and_no_results(tmp_path):
  results = tmp_path / 'results'
  bad = run_script(['--actor_tasks=0', f'--results_dir={results}'])
  assert bad.returncode == 1
  assert bad.stderr.strip() == "Error: --actor_tasks must be distinct positive integers, got '0'"

  (tmp_path / 'empty').mkdir()  # A PATH without iproute2's `ip`.
  no_ip = run_script([f'--results_dir={results}', '--actor_steps_per_second=200'],
                     env=dict(os.environ, PATH=str(tmp_path / 'empty')))
  assert no_ip.returncode == 1
  assert no_ip.stderr.strip() == (
      'Error: cannot make the network-namespace hosts: iproute2 (ip) is not installed; run it as '
      'root: sudo .venv/bin/python benchmarks/learner_ingest.py')
  assert not results.exists()


def learner_pid(marker):
  """The pid of ingest_tasks' learner whose command line holds `marker`, or None."""
  for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
      with open(f'/proc/{pid}/cmdline', 'rb') as f:
        argv = f.read().decode(errors='replace').split('\0')
    except OSError:
      continue
    if len(argv) > 3 and argv[1].endswith('ingest_tasks.py') and argv[2] == 'learner' and (
        marker in argv[3]):
      return int(pid)
  return None


@pytest.mark.skipif(bool(netns_hosts.unavailable()),
                    reason=f'no network namespaces here: {netns_hosts.unavailable()}')
def test_a_run_whose_learner_dies_says_so_and_writes_nothing(tmp_path):
  # The learner killed as the kernel's OOM killer would, while it starts: the run fails.
  results = tmp_path / 'results'
  run = subprocess.Popen(  # pylint: disable=consider-using-with
      [sys.executable, SCRIPT, '--actor_tasks=1', '--network=shallow', '--batch_size=2',
       '--actor_steps_per_second=200', f'--results_dir={results}'],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
      env=dict(os.environ, TMPDIR=str(tmp_path)))  # Its work directory, in the learner's settings.
  try:
    while (pid := learner_pid(str(tmp_path))) is None:
      assert run.poll() is None, run.communicate()
      time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    _, stderr = run.communicate(timeout=120)
  finally:
    if run.poll() is None:
      run.kill()
  assert run.returncode == 1
  assert stderr.startswith('Error: 1 actor task: the learner failed (exit code -9)'), stderr
  assert f'Nothing written to {results}.' in stderr
  assert not results.exists()
