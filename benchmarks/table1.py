"""The paper's Table 1 on this machine: frames/s of A3C, batched A2C and IMPALA, same network and actors.

    .venv/bin/python benchmarks/table1.py [--seconds=40] [--num_actors=16] [--envs=pong,dmlab]

Each row trains with experiment.py for `--seconds` after every thread's first update (which traces
the graphs) and reports the frames/s it reached:
  A3C                       --agent=a3c: a thread per actor, each acting with its local copy of the
                            weights (no batching) and applying its own updates
  Batched A2C (sync step)   --agent=a2c --a2c_sync=step: all environments step together, one
                            inference call per step, an update after every unroll
  Batched A2C (sync traj.)  --agent=a2c --a2c_sync=trajectory --nodynamic_batching: a thread per
                            actor plays its unroll alone; all wait for the update
  Batched A2C (dyn. batch)  the same with inference batched across the threads
  IMPALA                    a thread per actor, no batching across them, the learner apart
  IMPALA (dyn. batch)       the same with inference batched across the threads
  The last two rows, not in the paper, use the layout that is fastest on 2 cores (throughput.py):
  Batched A2C (sync step, 4 envs/process) and IMPALA (dyn. batch, 2 threads x 4 envs/process).
All rows use the same network, actors and unroll length; the batched rows train on one unroll per
actor (batch = actors), A3C on one thread's unroll. Environments: `pong` (Atari Pong, the shallow
feed-forward network of the paper's Atari experts) and `dmlab` (the DMLab-shaped synthetic level with
the paper's Table 1 network: shallow, with the LSTM). The paper measured DMLab levels on 48 CPUs
and a GPU (IMPALA 17K / 20.5K frames/s, with dynamic batching 21K / 24K, reference/README.md); what
carries over to a 2-core machine is the table's shape, not its numbers.

Writes benchmarks/results/table1.csv.
"""
import csv
import os
import sys
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags

from benchmarks import training_run
import configuration

configuration.define_flags()

flags.DEFINE_integer('seconds', 40, 'Seconds of training per row and environment.')
flags.DEFINE_list('envs', ['pong', 'dmlab'], 'Environments: pong, dmlab.')
flags.DEFINE_list('rows', [], 'Only these rows (their numbers, from 1); all by default.')
flags.DEFINE_string('csv', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results',
                                        'table1.csv'), 'Where to write the table.')
FLAGS = flags.FLAGS

ENVIRONMENTS = {
    'pong': dict(level_name='atari/pong'),
    'dmlab': dict(level_name='synthetic/dmlab', network='shallow', use_lstm=True),
}


def rows(num_actors):
  """(name, experiment.py flags) of each row."""
  impala = dict(agent='impala', batch_size=num_actors)
  return [
      ('A3C', dict(agent='a3c')),
      ('Batched A2C (sync step)', dict(agent='a2c', a2c_sync='step')),
      ('Batched A2C (sync traj.)', dict(agent='a2c', a2c_sync='trajectory', dynamic_batching=False)),
      ('Batched A2C (dyn. batch)', dict(agent='a2c', a2c_sync='trajectory', dynamic_batching=True)),
      ('IMPALA', dict(impala, actor_threads=num_actors, dynamic_batching=False)),
      ('IMPALA (dyn. batch)', dict(impala, actor_threads=num_actors, dynamic_batching=True)),
      ('Batched A2C (sync step, 4 envs/process)',
       dict(agent='a2c', a2c_sync='step', envs_per_process=4)),
      ('IMPALA (dyn. batch, 2 threads x 4 envs/process)',
       dict(impala, actor_threads=2, envs_per_process=4, dynamic_batching=True)),
  ]


def make_config(row_flags, env, logdir):
  # Given explicitly, so that no agent's Atari preset changes them.
  shared = dict(num_actors=FLAGS.num_actors, unroll_length=FLAGS.unroll_length)
  return configuration.build(**{**configuration.given_flags(), 'logdir': logdir, **shared,
                                **ENVIRONMENTS[env], **row_flags})


def main(argv):
  del argv
  table = rows(FLAGS.num_actors)
  for env in FLAGS.envs:
    if env not in ENVIRONMENTS:
      raise app.UsageError(f'--envs: unknown {env!r}; choose from {sorted(ENVIRONMENTS)}')
  chosen = [int(r) for r in FLAGS.rows] or range(1, len(table) + 1)
  if any(not 1 <= r <= len(table) for r in chosen):
    raise app.UsageError(f'--rows: numbers from 1 to {len(table)}, got {FLAGS.rows}')
  results = []
  for number in chosen:
    name, row_flags = table[number - 1]
    rates = {}
    for env in FLAGS.envs:
      with tempfile.TemporaryDirectory() as logdir:
        config = make_config(row_flags, env, logdir)
        stats = training_run.train_for(config, FLAGS.seconds)
      _, frames_per_second, _ = training_run.timed_rates(stats, f'{name} on {env}', FLAGS.seconds)
      rates[env] = (frames_per_second, stats['steal'])
      print(f'{name} on {env}: {frames_per_second:.0f} frames/s', flush=True)
    results.append((name, row_flags, rates))

  print(f'\nTable 1 on {os.cpu_count()} cores: frames/s, {FLAGS.num_actors} actors, unroll '
        f'{FLAGS.unroll_length}, {FLAGS.seconds} s a run (steal: CPU the hypervisor took).')
  print(f'{"":<50}' + ''.join(f'{env:>10}{"steal":>7}' for env in FLAGS.envs))
  for name, _, rates in results:
    print(f'{name:<50}' + ''.join(f'{rates[env][0]:>10.0f}{rates[env][1]:>7.0%}' for env in FLAGS.envs))
  os.makedirs(os.path.dirname(FLAGS.csv), exist_ok=True)
  with open(FLAGS.csv, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['architecture', 'flags', 'environment', 'frames_per_second', 'steal', 'actors',
                     'unroll_length', 'seconds', 'cores'])
    for name, row_flags, rates in results:
      for env, (frames_per_second, steal) in rates.items():
        writer.writerow([name, ' '.join(f'--{k}={v}' for k, v in row_flags.items()), env,
                         round(frames_per_second), f'{steal:.3f}', FLAGS.num_actors,
                         FLAGS.unroll_length, FLAGS.seconds, os.cpu_count()])
  print(f'Wrote {FLAGS.csv}.')


if __name__ == '__main__':
  FLAGS.set_default('num_actors', 16)
  FLAGS.set_default('unroll_length', 20)
  app.run(main)
