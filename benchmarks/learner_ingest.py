"""How far one learner's ingest scales: unrolls of DeepMind Lab's shape from 1, 2, 4, 8 actor tasks on
other hosts, as fast as the learner takes them, with no environment and no inference.

    sudo .venv/bin/python benchmarks/learner_ingest.py [--actor_tasks=1,2,4,8] [--seconds=60]
        [--actor_steps_per_second=R] [--train]

Needs root and iproute2 (benchmarks/netns_hosts.py): a learner host and --actor_hosts actor hosts,
network namespaces joined by a switch, so that unrolls cross veth links and TensorFlow's gRPC as
between machines. The learner and each actor task are the programs of benchmarks/ingest_tasks.py, on
the cluster path of runtime/cluster.py: the learner's TensorFlow server, the trajectory queue shared
by name, runtime.prefetch's batching (--batch_size); actor task i runs on actor host i mod
--actor_hosts. Each actor task enqueues --unrolls_per_enqueue unrolls at a time (101 steps of 72x96x3
uint8 frames and an instruction, rewards, dones, episode infos, actions, the logits over DMLab's 9
actions, baselines, the 2x256 LSTM state) and then, with --fetch_weights, fetches the learner's
weights, as a real actor task does. The learner does not train unless --train (the real training
step, then its weights published, as the real learner does).

For each number of actor tasks, a fresh learner measures for --seconds once every task's unrolls have
arrived and --warmup_secs more have passed: unrolls/s; MB/s of payload in (the unrolls' array bytes
and the strings' UTF-8 bytes, without gRPC's framing) and of weights out (the weights' bytes at each
fetch); what the learner host's eth0 received and sent (framing included); the learner process's CPU
(all its threads, getrusage) per unroll and in cores, split by thread (ingest_tasks.thread_groups);
the actor tasks' CPU per unroll (/proc). A row in whose window other processes used more than a
quarter of a core, or the hypervisor took more than 5% (steal), is unreliable. Then the derived table
(benchmarks/ingest_report.py) from one DeepMind Lab actor's agent steps per CPU-second: measured here
first on --actor_rate_level (benchmarks/actor_rate.py: needs DeepMind Lab), unless given as
--actor_steps_per_second. Results go to --results_dir (--results_name .txt and .png) only from a run
that completed with every row reliable.
"""
import datetime
import importlib.util
import json
import time
import os
import subprocess
import sys
import tempfile

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import ingest_report  # pylint: disable=wrong-import-position
from benchmarks import netns_hosts  # pylint: disable=wrong-import-position

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = os.path.join(REPO, 'benchmarks', 'ingest_tasks.py')
LEARNER_PORT = 8001  # Actor task ports follow: 8002 for the first task on a host, and so on.
COMMAND = 'sudo .venv/bin/python benchmarks/learner_ingest.py'

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
  """Defines the benchmark's flags in `flag_values` (not at import, where tests import its parts);
  returns their names."""
  before = set(flag_values)
  into = dict(flag_values=flag_values)
  flags.DEFINE_list('actor_tasks', ['1', '2', '4', '8'], 'Numbers of actor tasks to measure.', **into)
  flags.DEFINE_integer('actor_hosts', 4, 'Hosts the actor tasks are spread over (task i on host '
                       'i mod this).', **into)
  flags.DEFINE_integer('seconds', 60, 'Seconds each number of actor tasks is measured.', **into)
  flags.DEFINE_integer('warmup_secs', 10, 'Seconds left out after every task\'s unrolls arrived.',
                       **into)
  flags.DEFINE_integer('timeout_secs', 600, 'Seconds a measurement may take, start-up included.',
                       **into)
  flags.DEFINE_integer('batch_size', 32, 'Unrolls a learner batch takes (the paper\'s DMLab: 32).',
                       **into)
  flags.DEFINE_integer('unroll_length', 100, 'Agent steps an unroll holds (and one more).', **into)
  flags.DEFINE_enum('network', 'deep', ['deep', 'shallow'], 'The network whose weights actor tasks '
                    'fetch (and, with --train, the learner trains).', **into)
  flags.DEFINE_integer('unrolls_per_enqueue', 1, 'Unrolls an actor task sends at once (a real one '
                       'sends its actor thread\'s actors\').', **into)
  flags.DEFINE_boolean('fetch_weights', True, 'Actor tasks fetch the weights after each enqueue.',
                       **into)
  flags.DEFINE_boolean('train', False, 'The learner also trains on each batch (the real step).',
                       **into)
  flags.DEFINE_float('actor_steps_per_second', 0., 'Agent steps per CPU-second of one DeepMind Lab '
                     'actor (environment, map compiles, inference) for the derived table; 0: '
                     'measure it on --actor_rate_level first.', **into)
  flags.DEFINE_string('actor_rate_level', 'explore_goal_locations_small', 'DeepMind Lab level of '
                      'the one-actor measurement.', **into)
  flags.DEFINE_integer('actor_rate_secs', 300, 'Seconds of the one-actor measurement.', **into)
  flags.DEFINE_float('atari_actor_steps_per_second', 0., 'Agent steps per CPU-second of one Atari '
                     'actor, for the Atari-57 row (0: that row gives no actor cost).', **into)
  flags.DEFINE_string('results_dir', os.path.join(REPO, 'benchmarks', 'results'),
                      'Where a completed, reliable run writes its results.', **into)
  flags.DEFINE_string('results_name', 'learner_ingest', 'Its results files\' name: NAME.txt and '
                      'NAME.png (another for a variant, e.g. learner_ingest_noweights).', **into)
  return sorted(set(flag_values) - before)


def check(values):
  """values: {flag name: value}; the actor task counts as ints, or ValueError naming the flag."""
  try:
    tasks = [int(t) for t in values['actor_tasks']]
  except ValueError:
    tasks = []
  if not tasks or min(tasks) < 1 or len(set(tasks)) != len(tasks):
    raise ValueError(f'--actor_tasks must be distinct positive integers, got '
                     f'{",".join(values["actor_tasks"])!r}')
  if not 1 <= values['actor_hosts'] <= 250:  # A /24 subnet, the learner's host and the switch.
    raise ValueError(f'--actor_hosts must be in [1, 250], got {values["actor_hosts"]}')
  if max(tasks) > 100 * values['actor_hosts']:
    raise ValueError(f'--actor_tasks={max(tasks)} is more than 100 a host over --actor_hosts='
                     f'{values["actor_hosts"]}')
  for name in ('seconds', 'batch_size', 'unroll_length', 'unrolls_per_enqueue', 'actor_rate_secs'):
    if values[name] < 1:
      raise ValueError(f'--{name} must be positive, got {values[name]}')
  for name in ('warmup_secs', 'actor_steps_per_second', 'atari_actor_steps_per_second'):
    if values[name] < 0:
      raise ValueError(f'--{name} must be >= 0, got {values[name]}')
  if not values['results_name'] or os.sep in values['results_name']:
    raise ValueError(f'--results_name must be a file name without a folder, got '
                     f'{values["results_name"]!r}')
  if values['timeout_secs'] <= values['seconds'] + values['warmup_secs']:
    raise ValueError(f'--timeout_secs must exceed --seconds + --warmup_secs '
                     f'({values["seconds"] + values["warmup_secs"]}), got {values["timeout_secs"]}')
  return sorted(tasks)


def cannot_run(values):
  """Why this machine cannot run the benchmark as asked (one line, with the command to fix it), or
  None."""
  why = netns_hosts.unavailable()
  if why:
    return f'cannot make the network-namespace hosts: {why}; run it as root: {COMMAND}'
  if not values['actor_steps_per_second'] and importlib.util.find_spec('deepmind_lab') is None:
    return ('DeepMind Lab is not installed, and one actor\'s rate is measured on it: install it '
            '(make install DMLAB_WHEEL=path/to/deepmind_lab-*.whl) or give --actor_steps_per_second')
  return None


def actor_host_names(count):
  return [f'actors{i + 1}' for i in range(count)]


def placement(num_tasks, num_hosts):
  """(host, port) of each actor task: task i on actor host i mod num_hosts, ports from 8002."""
  hosts = actor_host_names(num_hosts)
  return [(hosts[i % num_hosts], LEARNER_PORT + 1 + i // num_hosts) for i in range(num_tasks)]


def measure(hosts, num_tasks, values, workdir):
  """What the learner measured with `num_tasks` actor tasks (ingest_tasks' result); RuntimeError
  with the learner's log if it failed."""
  point = os.path.join(workdir, f'{num_tasks}_tasks')
  os.makedirs(point)
  common = dict(network=values['network'], batch_size=values['batch_size'],
                unroll_length=values['unroll_length'], workdir=point,
                learner_address=f'{hosts.address["learner"]}:{LEARNER_PORT}',
                timeout_secs=values['timeout_secs'])
  learner_settings = dict(common, train=values['train'], actor_tasks=num_tasks,
                          warmup_secs=values['warmup_secs'], seconds=values['seconds'],
                          pids_path=os.path.join(point, 'actor_pids'),
                          result_path=os.path.join(point, 'result.json'))
  task = lambda host, name, role, settings: netns_hosts.Task(
      hosts, host, os.path.join(point, f'{name}.log'),
      [sys.executable, PROGRAM, role, json.dumps(settings)], cwd=REPO)
  learner = task('learner', 'learner', 'learner', learner_settings)
  actors = [task(host, f'actor{i}', 'actor', dict(
      common, task=i, actor_address=f'{hosts.address[host]}:{port}',
      unrolls_per_enqueue=values['unrolls_per_enqueue'], fetch_weights=values['fetch_weights']))
            for i, (host, port) in enumerate(placement(num_tasks, values['actor_hosts']))]
  with open(learner_settings['pids_path'] + '.new', 'w') as f:
    f.write(' '.join(str(actor.process.pid) for actor in actors))
  os.replace(learner_settings['pids_path'] + '.new', learner_settings['pids_path'])
  try:
    code = learner.process.wait(timeout=values['timeout_secs'] + 60)
  except subprocess.TimeoutExpired:
    code = 'none: killed after --timeout_secs'
  finally:
    # Actor tasks end when the learner closes its queue; after a failure, they are killed at once.
    deadline = time.monotonic() + (30 if learner.process.poll() == 0 else 0)
    for process in [learner] + actors:
      try:
        process.process.wait(timeout=max(0.01, deadline - time.monotonic()))
      except subprocess.TimeoutExpired:
        process.process.kill()
        process.process.wait()
  if code != 0 or not os.path.exists(learner_settings['result_path']):
    raise RuntimeError(f'{num_tasks} actor task{"s" * (num_tasks != 1)}: the learner failed (exit '
                       f'code {code}); the end of its log:\n{learner.text()[-3000:]}')
  with open(learner_settings['result_path']) as f:
    return json.load(f)


def header(values, unroll_mb, weights_mb, rate_note):
  now = datetime.datetime.now(datetime.timezone.utc)
  commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO, capture_output=True,
                          text=True, check=False).stdout.strip() or 'unknown'
  trained = ('trains on each batch (the real step) and publishes its weights' if values['train']
             else 'does not train')
  weights = (f'fetch the {values["network"]} network\'s weights ({weights_mb:.2f} MB) after each'
             if values['fetch_weights'] else 'fetch no weights')
  return [
      f'Learner ingest: one learner and N actor tasks on network-namespace hosts ({os.cpu_count()} '
      f'cores; actor task i on host i mod {values["actor_hosts"]}).',
      f'Date: {now:%Y-%m-%d %H:%M} UTC. Commit: {commit}. Command: '
      f'{" ".join([COMMAND] + sys.argv[1:])}',
      f'Unrolls of DeepMind Lab\'s shape, {values["unroll_length"]} steps + 1: {unroll_mb:.3f} MB of '
      'payload each (array bytes and strings\' UTF-8 bytes, without gRPC\'s framing); actor tasks '
      f'send {values["unrolls_per_enqueue"]} at a time and {weights}. The learner takes batches of '
      f'{values["batch_size"]} (runtime.prefetch) and {trained}.',
      f'{values["seconds"]} s measured per row, after every task\'s unrolls arrived and '
      f'{values["warmup_secs"]} s more. {rate_note}', '']


def actor_rate_note(values):
  """(one DeepMind Lab actor's agent steps per CPU-second, a sentence on where it comes from): the
  flag's, or measured now; SystemExit if the measurement failed."""
  rate = values['actor_steps_per_second']
  if rate:
    return rate, f'One DeepMind Lab actor\'s rate given: {rate:,.0f} agent steps per CPU-second.'
  from benchmarks import actor_rate  # pylint: disable=import-outside-toplevel
  print(f'One actor on {values["actor_rate_level"]} for {values["actor_rate_secs"]} s...', flush=True)
  try:
    measured = actor_rate.measure(values['actor_rate_level'], values['network'],
                                  values['unroll_length'], values['actor_rate_secs'])
  except RuntimeError as e:  # Its level failed to start, or its environment process was replaced.
    sys.exit(f'Error: one actor\'s rate: {e}\nNothing written to {values["results_dir"]}.')
  rate = measured['steps_per_core_second']
  return rate, (f'One actor on {values["actor_rate_level"]} ({values["network"]} network), '
                f'measured first: {measured["steps_per_second"]:,.0f} agent steps/s, '
                f'{measured["cpu_per_step"] * 1e6:,.0f} µs of CPU per step (its environment, map '
                f'compiles and inference; {measured["episodes"]} episodes ended in its '
                f'{measured["seconds"]:.0f} s): {rate:,.0f} agent steps per CPU-second.')


def measure_rows(values, tasks):
  """(a row per number of actor tasks, the weights' MB), printed as they come; SystemExit if a
  measurement failed."""
  rows = []
  print('\n'.join(ingest_report.format_rows([])), flush=True)
  with tempfile.TemporaryDirectory() as workdir, netns_hosts.Hosts(
      ['learner'] + actor_host_names(min(values['actor_hosts'], max(tasks)))) as hosts:
    for num_tasks in tasks:
      try:
        result = measure(hosts, num_tasks, values, workdir)
      except RuntimeError as e:
        sys.exit(f'Error: {e}\nNothing written to {values["results_dir"]}.')
      rows.append(ingest_report.point_row(num_tasks, result, values['unrolls_per_enqueue'],
                                          values['fetch_weights']))
      print(ingest_report.format_rows(rows[-1:])[-1], flush=True)
  return rows, result['weights_bytes'] / 1e6


def main(argv):
  del argv
  values = {name: FLAGS[name].value for name in _OWN}
  try:
    tasks = check(values)
  except ValueError as e:
    sys.exit(f'Error: {e}')
  why = cannot_run(values)
  if why:
    sys.exit(f'Error: {why}')
  rate, rate_note = actor_rate_note(values)
  rows, weights_mb = measure_rows(values, tasks)
  atari = values['atari_actor_steps_per_second']
  derived = ingest_report.derived(rows, rate, values['unroll_length'], atari)
  text = '\n'.join(header(values, rows[0]['unroll_mb'], weights_mb, rate_note)
                   + ingest_report.format_rows(rows) + [ingest_report.LEGEND, '']
                   + ingest_report.format_derived(derived, rate, values['unroll_length'], atari,
                                                  values['train'])) + '\n'
  print('\n' + text)
  doubts = ingest_report.publish(values['results_dir'], text, rows, values['results_name'])
  if doubts:
    sys.exit(f'Unreliable, nothing written to {values["results_dir"]}: ' + '; '.join(doubts))
  print(f'Written: {os.path.join(values["results_dir"], values["results_name"])}.txt and .png')


_OWN = []  # The names of the flags define_flags made.

if __name__ == '__main__':
  _OWN = define_flags()
  app.run(main)
