"""The paper's Table 2 on this machine: off-policy corrections, with and without experience replay.

    .venv/bin/python benchmarks/table2.py                       # every cell not yet in the CSV
    .venv/bin/python benchmarks/table2.py --cells=vtrace:0,none:0.5 --seeds=2   # their seed 2
    .venv/bin/python benchmarks/table2.py --plot_only

A run is one cell and one seed. The command trains the runs it asks for (`--cells`, default the
whole grid, for seeds 1 to `--seeds`) that have no row in the CSV yet, and never one that has: a
finished row is not run again nor overwritten (delete it from the CSV to run it again). With every
run asked for in the CSV (as for the grid's seed 1 in benchmarks/results/), it trains nothing and
only redraws the figure.

Each cell trains IMPALA on Atari Pong with the first learning recipe of docs/pong_learning.md
(RECIPE: centred frames, unroll 10, batch 8, learning rate 0.002, RMSProp epsilon 0.001, the paper's
Atari settings otherwise; 64 actors, 8 threads, 8 environments a process) and one of the paper's
corrections (`--correction`: vtrace, one_step_is, epsilon, none), without replay or with half of
each batch replayed from a buffer of 10,000 unrolls (`--replay_proportion=0.5`), for `--frames`
environment frames; then it is stopped as Ctrl-C would. Runs go one at a time, each written to the
CSV as it ends, so an interrupted grid resumes where it stopped.

benchmarks/results/table2.csv: correction, replay, seed, frames, final mean return (last 100
episodes), mean |log rho| over the run (fresh and replayed unrolls, and each apart: how off-policy the
data was), wall minutes. benchmarks/results/table2.png: the final returns in the paper's layout
(corrections by row, without and with replay) and every run's curve.
"""
import csv
import glob
import os
import signal
import subprocess
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
import numpy as np
from benchmarks import run_summaries  # pylint: disable=g-import-not-at-top,wrong-import-position
from runtime import curves  # pylint: disable=g-import-not-at-top,wrong-import-position

RESULTS = os.path.join(REPO, 'benchmarks', 'results')
CORRECTIONS = ('vtrace', 'one_step_is', 'epsilon', 'none')  # The paper's Table 2 rows.
REPLAY = (0., 0.5)
RECIPE = ['--center_frames', '--unroll_length=10', '--batch_size=8', '--learning_rate=0.002',
          '--epsilon=0.001']
LAYOUT = ['--num_actors=64', '--actor_threads=8', '--envs_per_process=8']
COLUMNS = ['correction', 'replay', 'seed', 'frames', 'final_mean_return', 'mean_abs_log_rho',
           'mean_abs_log_rho_fresh', 'mean_abs_log_rho_replayed', 'wall_minutes']

FLAGS = flags.FLAGS


def define_flags():
  """The benchmark's flags; not at import, where tests import its parts beside the program's flags."""
  flags.DEFINE_integer('frames', 10_000_000, 'Environment frames per cell.')
  flags.DEFINE_list('cells', [], 'correction:replay cells to run (e.g. vtrace:0,none:0.5); default: '
                    'every cell of the grid, in the paper\'s order. Only runs not yet in the CSV.')
  flags.DEFINE_integer('seeds', 1, 'Seeds 1 to this of each cell; those already in the CSV are '
                       'not run again.')
  flags.DEFINE_string('logdir', '/tmp/agent/table2', 'Where the runs write (a folder per cell).')
  flags.DEFINE_string('csv', os.path.join(RESULTS, 'table2.csv'), 'The results table.')
  flags.DEFINE_bool('plot_only', False, 'Only draw the PNG from the CSV and the runs\' curves.')


def cell_name(correction, replay, seed):
  return f'{correction}_replay{replay:g}_seed{seed}'


def episodes(logdir):
  """(frames, returns) of the run's finished episodes."""
  episodes = curves.read_episodes(curves.episodes_csv(logdir))
  return episodes['frames'], episodes['episode_return']


def scalar_means(logdir, tags):
  """The mean over the run of each summary `tags` names (TensorBoard event files)."""
  values = {tag: [value for _, value in points]
            for tag, points in run_summaries.scalar_series(logdir, tags).items()}
  # A batch with no replayed unroll (the buffer filling) reports 0 for those: not a measurement.
  values = {tag: [x for x in v if x != 0.] if tag.endswith('_replayed') else v
            for tag, v in values.items()}
  return {tag: float(np.mean(v)) if v else float('nan') for tag, v in values.items()}


def parse_cells(names):
  """[(correction, replay)] of --cells (default: the whole grid, in the paper's order); ValueError
  for a name that is not correction:replay."""
  if not names:
    return [(correction, replay) for correction in CORRECTIONS for replay in REPLAY]
  cells = []
  for cell in names:
    correction, _, replay = cell.partition(':')
    if correction not in CORRECTIONS or replay not in ('0', '0.5'):
      raise ValueError(f'--cells: {cell!r} is not correction:replay with a correction of '
                       f'{CORRECTIONS} and replay 0 or 0.5')
    cells.append((correction, float(replay)))
  return cells


def runs_to_train(rows, cells, seeds):
  """[(correction, replay, seed)]: the runs of `cells` for seeds 1 to `seeds` that `rows` (the CSV's)
  do not hold, seed by seed. A finished run is never trained again, so never overwritten."""
  done = {(row['correction'], float(row['replay']), int(row['seed'])) for row in rows}
  return [(correction, replay, seed) for seed in range(1, seeds + 1)
          for correction, replay in cells if (correction, replay, seed) not in done]


def run_cell(correction, replay, seed):
  logdir = os.path.join(FLAGS.logdir, cell_name(correction, replay, seed))
  subprocess.run(['rm', '-rf', logdir], check=True)
  command = [sys.executable, os.path.join(REPO, 'experiment.py'), '--level_name=atari/pong',
             f'--logdir={logdir}', f'--correction={correction}', f'--replay_proportion={replay}',
             f'--seed={seed}', '--summary_secs=30'] + RECIPE + LAYOUT
  print(' '.join(command), flush=True)
  start = time.monotonic()
  process = subprocess.Popen(command, cwd=REPO)
  try:
    while process.poll() is None and curves.frames_so_far(
        curves.episodes_csv(logdir)) < FLAGS.frames:
      time.sleep(10)
  finally:
    if process.poll() is None:
      process.send_signal(signal.SIGINT)  # Stops after the current step; writes a checkpoint.
      process.wait()
  minutes = (time.monotonic() - start) / 60
  if process.returncode not in (0, 128 + signal.SIGINT, -signal.SIGINT):  # Stopped by our SIGINT.
    raise SystemExit(f'{cell_name(correction, replay, seed)} failed with code {process.returncode}')
  frames, returns = episodes(logdir)
  rho = scalar_means(logdir, ['learner/mean_abs_log_rho', 'learner/mean_abs_log_rho_fresh',
                              'learner/mean_abs_log_rho_replayed'])
  return dict(correction=correction, replay=replay, seed=seed, frames=int(frames[-1]),
              final_mean_return=round(float(curves.running_mean(returns)[-1]), 2),
              mean_abs_log_rho=round(rho['learner/mean_abs_log_rho'], 4),
              mean_abs_log_rho_fresh=round(rho['learner/mean_abs_log_rho_fresh'], 4),
              mean_abs_log_rho_replayed=round(rho['learner/mean_abs_log_rho_replayed'], 4),
              wall_minutes=round(minutes, 1))


def read_table():
  if not os.path.exists(FLAGS.csv):
    return []
  with open(FLAGS.csv) as f:
    return [dict(r, replay=float(r['replay']), seed=int(r['seed'])) for r in csv.DictReader(f)]


def write_table(rows):
  order = {c: i for i, c in enumerate(CORRECTIONS)}
  rows = sorted(rows, key=lambda r: (order[r['correction']], r['replay'], r['seed']))
  os.makedirs(os.path.dirname(FLAGS.csv), exist_ok=True)
  with open(FLAGS.csv, 'w', newline='') as f:
    writer = csv.DictWriter(f, COLUMNS)
    writer.writeheader()
    writer.writerows(rows)


def save_curve(correction, replay, seed):
  """The run's mean-return curve, beside the table (runs' logdirs are temporary)."""
  frames, returns = episodes(os.path.join(FLAGS.logdir, cell_name(correction, replay, seed)))
  path = os.path.join(RESULTS, 'table2_curves', cell_name(correction, replay, seed) + '.csv')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['frames', 'mean_return_last_100'])
    writer.writerows(zip(frames, np.round(curves.running_mean(returns), 3)))


def plot(rows):
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, (table_ax, curves_ax) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw=dict(width_ratios=[1, 1.4]))
  for column, replay in enumerate(REPLAY):
    for row, correction in enumerate(CORRECTIONS):
      found = [r for r in rows if r['correction'] == correction and r['replay'] == replay]
      text = ' / '.join(f'{float(r["final_mean_return"]):+.1f}' for r in found) or 'not run'
      table_ax.text(column, row - 0.08, text, ha='center', va='center', fontsize=11)
      if found:
        rho = ' / '.join(f'{float(r["mean_abs_log_rho"]):.3g}' for r in found)
        table_ax.text(column, row + 0.2, f'mean |log rho| {rho}', ha='center', va='center',
                      fontsize=8, color='0.4')
  table_ax.set_xticks(range(len(REPLAY)), ['no replay', 'replay 0.5'])
  table_ax.set_yticks(range(len(CORRECTIONS)),
                      ['V-trace', '1-step importance sampling', 'epsilon-correction', 'no correction'])
  table_ax.set_xlim(-0.5, len(REPLAY) - 0.5)
  table_ax.set_ylim(len(CORRECTIONS) - 0.5, -0.5)
  table_ax.set_title(f'Pong, mean return of the last 100 episodes at {FLAGS.frames / 1e6:g}M frames\n'
                     '(rows in the paper\'s Table 2 order; a value per seed)', fontsize=10)
  for path in sorted(glob.glob(os.path.join(RESULTS, 'table2_curves', '*.csv'))):
    name = os.path.basename(path)[:-4]
    correction = name.split('_replay')[0]
    replayed = '_replay0.5_' in name
    with open(path) as f:
      data = np.array([[float(r['frames']), float(r['mean_return_last_100'])] for r in csv.DictReader(f)])
    if len(data):
      curves_ax.plot(data[:, 0] / 1e6, data[:, 1], color=f'C{CORRECTIONS.index(correction)}',
                     linestyle='--' if replayed else '-', label=name)
  curves_ax.set_xlabel('environment frames (millions)')
  curves_ax.set_ylabel('mean return (last 100 episodes)')
  curves_ax.set_ylim(-22, 22)
  curves_ax.grid(alpha=0.3)
  curves_ax.legend(fontsize=7, loc='upper left')
  curves_ax.set_title('Learning curves (dashed: with replay)', fontsize=10)
  fig.tight_layout()
  path = os.path.join(RESULTS, 'table2.png')
  fig.savefig(path, dpi=100)
  print(f'Wrote {path}.')


def main(argv):
  del argv
  rows = read_table()
  if not FLAGS.plot_only:
    try:
      cells = parse_cells(FLAGS.cells)
    except ValueError as e:
      raise app.UsageError(str(e)) from None
    runs = runs_to_train(rows, cells, FLAGS.seeds)
    print(f'{len(runs)} run(s) to train: {", ".join(cell_name(*run) for run in runs)}.' if runs else
          f'Every run asked for is in {FLAGS.csv}: nothing to train, only the figure to draw.',
          flush=True)
    for correction, replay, seed in runs:
      result = run_cell(correction, replay, seed)
      save_curve(correction, replay, seed)
      rows.append(result)
      write_table(rows)
      print(result, flush=True)
      plot(rows)
  plot(rows)


if __name__ == '__main__':
  define_flags()
  app.run(main)
