"""PopArt beside IMPALA on tasks whose rewards differ by orders of magnitude: per-task learning curves.

    .venv/bin/python benchmarks/popart_multitask.py                    # Pong and Ms. Pac-Man, 8M frames a run
    .venv/bin/python benchmarks/popart_multitask.py --levels=synthetic      # 24,000 frames a run
    .venv/bin/python benchmarks/popart_multitask.py --plot_only        # redraws from --logdir

Trains one multi-task agent twice with the same seed and settings, IMPALA and then PopArt-IMPALA
(--popart), both on unclipped rewards (--reward_clipping=none), as the PopArt paper compares them
(Hessel et al. 2019, Figure 1: IMPALA unclipped at 0.3% median on Atari-57): actor i plays level
i mod N of `--levels`. The default pairs Pong (rewards of 1) with Ms. Pac-Man (10 a pellet, up to
1,600 a ghost), with make train's recipe (docs/pong_learning.md) but its replay, whose buffer holds
up to 2.9 GiB for one game; at make train's rate (15M frames in 50-80 minutes on 2 cores) a run of
the default 8M frames takes about 27-43 minutes (not measured for this pair).
`--levels=synthetic` is environments/synthetic_cue.py's pair: two cue tasks that want different
actions for the same cue, with rewards of 1 and 1,000, which a small network learns in a few
thousand frames (tests/test_popart.py trains them in-process).

The paper's statistics step size, 3e-4 a step per unroll, adapts over thousands of unrolls: runs
of a few thousand updates need a faster one (--popart_step_size; the synthetic default, 0.03).

Writes benchmarks/results/popart_<name>.csv (every finished episode of each run: run, level, frames,
seconds, its return and the mean of the level's last 100), popart_<name>.png (a panel per level,
both runs' means of the last 100 episodes against frames) and popart_<name>.txt (the seed, the
flags, the frames and wall time of each run and its final means, also printed).
"""
import csv
import os
import shutil
import subprocess
import sys
import time

from absl import app
from absl import flags
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, 'benchmarks', 'results')
sys.path.insert(0, REPO)
from runtime import curves  # pylint: disable=g-import-not-at-top,wrong-import-position

ATARI = 'atari/pong,atari/ms_pacman'
SYNTHETIC = 'synthetic/cue_0_x1,synthetic/cue_1_x1000'
# make train's recipe but its replay (docs/pong_learning.md), and its actor layout.
ATARI_FLAGS = ['--center_frames', '--unroll_length=10', '--batch_size=8', '--learning_rate=0.002',
               '--epsilon=0.001', '--entropy_cost=0.005', '--train_noop_max=30',
               '--num_actors=64', '--actor_threads=8', '--envs_per_process=8']
SYNTHETIC_FLAGS = ['--network=shallow', '--nouse_lstm', '--num_action_repeats=1',
                   '--num_actors=8', '--batch_size=8', '--unroll_length=10', '--entropy_cost=0.01',
                   '--learning_rate=0.002', '--epsilon=0.01', '--actor_threads=2',
                   '--envs_per_process=4']
RUNS = ('impala', 'popart')

flags.DEFINE_string('levels', 'atari', "The tasks: 'atari' (Pong and Ms. Pac-Man), 'synthetic' (cue "
                    'tasks with rewards of 1 and 1,000), or a --level_name list of your own.')
flags.DEFINE_integer('frames', None, 'Frames each run trains (default: 8M on Atari, 24,000 on the '
                     'synthetic tasks).')
flags.DEFINE_integer('seed', 1, "Both runs' seed (--seed of experiment.py).")
flags.DEFINE_float('popart_step_size', None, 'The PopArt run\'s --popart_step_size (default: the '
                   "paper's 3e-4; 0.03 on the synthetic tasks).")
flags.DEFINE_list('extra', [], 'More experiment.py flags for both runs, comma-separated.')
flags.DEFINE_string('name', None, 'Results are popart_<name>.csv/png (default: atari, synthetic, '
                    'or custom).')
flags.DEFINE_string('logdir', '/tmp/agent/popart_multitask', "Where the runs write (<logdir>/impala, "
                    '<logdir>/popart); emptied first.')
flags.DEFINE_bool('plot_only', False, 'Only write the results from the runs in --logdir.')
FLAGS = flags.FLAGS


def choice():
  """(level list, flags for both runs, default frames, default PopArt step size, name)."""
  if FLAGS.levels == 'atari':
    return ATARI, ATARI_FLAGS, 8_000_000, 3e-4, 'atari'
  if FLAGS.levels == 'synthetic':
    return SYNTHETIC, SYNTHETIC_FLAGS, 24_000, .03, 'synthetic'
  return FLAGS.levels, [], 8_000_000, 3e-4, 'custom'


def train(run, levels, common, frames, step_size):
  """Trains one run with experiment.py; returns its wall time in seconds."""
  logdir = os.path.join(FLAGS.logdir, run)
  shutil.rmtree(logdir, ignore_errors=True)
  command = [sys.executable, os.path.join(REPO, 'experiment.py'), f'--level_name={levels}',
             f'--logdir={logdir}', f'--seed={FLAGS.seed}', f'--total_environment_frames={frames}',
             '--reward_clipping=none', '--summary_secs=30'] + common + FLAGS.extra
  if run == 'popart':
    command += ['--popart', f'--popart_step_size={step_size}']
  print(' '.join(command), flush=True)
  start = time.monotonic()
  subprocess.run(command, cwd=REPO, check=True)
  return time.monotonic() - start


def write_results(levels, name, common, step_size, walls):
  """Writes popart_<name>.csv and .png from the runs' episodes.csv, and what they trained (seed,
  flags, frames, wall time, final means) to popart_<name>.txt and the console."""
  episodes = {run: curves.read_episodes(curves.episodes_csv(os.path.join(FLAGS.logdir, run)))
              for run in RUNS}
  csv_path = os.path.join(RESULTS, f'popart_{name}.csv')
  with open(csv_path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['run', 'level', 'frames', 'seconds', 'episode_return', 'mean_return_last_100'])
    for run, columns in episodes.items():
      for level in levels:
        mine = columns['level'] == level
        means = curves.running_mean(columns['episode_return'][mine])
        for row in zip(columns['frames'][mine], columns['seconds'][mine],
                       columns['episode_return'][mine], means):
          writer.writerow([run, level, int(row[0]), f'{row[1]:.1f}', f'{row[2]:g}', f'{row[3]:.4g}'])
  from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel
  figure = Figure(figsize=(5 * len(levels), 3.6), layout='constrained')
  most = max([int(columns['frames'].max()) for columns in episodes.values() if len(columns['frames'])],
             default=0)
  unit, unit_name = (1e6, 'millions') if most >= 1e6 else (1e3, 'thousands')
  for ax, level in zip(figure.subplots(1, len(levels), squeeze=False)[0], levels):
    for run, color in zip(RUNS, ('C0', 'C3')):
      mine = episodes[run]['level'] == level
      ax.plot(episodes[run]['frames'][mine] / unit,
              curves.running_mean(episodes[run]['episode_return'][mine]), color=color,
              label='PopArt-IMPALA' if run == 'popart' else 'IMPALA')
    ax.set_title(level, fontsize=10)
    ax.set_xlabel(f'frames ({unit_name})')
    ax.set_ylabel(f'mean return, last {curves.WINDOW}')
    ax.grid(alpha=.3)
    ax.legend(fontsize=8)
  figure.suptitle(f'Unclipped rewards, one agent for {len(levels)} levels, seed {FLAGS.seed}')
  png_path = os.path.join(RESULTS, f'popart_{name}.png')
  figure.savefig(png_path, dpi=90)
  lines = [f'{",".join(levels)}, unclipped rewards; both runs: seed {FLAGS.seed}, '
           f'{" ".join(common + FLAGS.extra)}; PopArt: --popart_step_size={step_size:g}']
  for run in RUNS:
    frames = int(episodes[run]['frames'][-1]) if len(episodes[run]['frames']) else 0
    wall = f', {walls[run] / 60:.1f} min wall time' if run in walls else ''
    finals = ', '.join(
        f'{level} {np.mean(episodes[run]["episode_return"][episodes[run]["level"] == level][-100:]):.4g}'
        for level in levels)
    lines.append(f'{run}: {frames:,} frames at its last episode{wall}; mean return of the last 100 '
                 f'episodes: {finals}')
  text_path = os.path.join(RESULTS, f'popart_{name}.txt')
  with open(text_path, 'w') as f:
    f.write('\n'.join(lines) + '\n')
  print('\n'.join(lines))
  print(f'Wrote {csv_path}, {png_path} and {text_path}.')


def main(argv):
  del argv
  levels, common, default_frames, default_step, default_name = choice()
  frames = FLAGS.frames or default_frames
  step_size = FLAGS.popart_step_size or default_step
  walls = {}
  if not FLAGS.plot_only:
    for run in RUNS:
      walls[run] = train(run, levels, common, frames, step_size)
  write_results(levels.split(','), FLAGS.name or default_name, common, step_size, walls)


if __name__ == '__main__':
  app.run(main)
