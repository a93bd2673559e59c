"""Learning on Atari Pong: runs `experiment.py` (the paper's Atari settings) for a frame budget.

    .venv/bin/python benchmarks/pong_learning.py --frames=12000000 --num_actors=64
    .venv/bin/python benchmarks/pong_learning.py --agent=a3c --name=pong_learning_a3c ...

`make train`'s settings, which reach +18 within 12M frames on a 2-core machine in 10 of 10 runs
(docs/pong_learning.md has the runs and says what each change from the paper's Atari settings does):

    .venv/bin/python benchmarks/pong_learning.py --frames_past_target=1000000 \
        --name=pong_learning_unroll10_batch8_lr0.002_epsilon0.001_entropy0.005_centered_replay0.5_noops30_budget15M \
        --extra=--center_frames,--unroll_length=10,--batch_size=8,--learning_rate=0.002,\
--epsilon=0.001,--entropy_cost=0.005,--replay_proportion=0.5,--train_noop_max=30,\
--total_environment_frames=15000000

The run trains with the schedule of a full run (the learning rate anneals over the paper's 200M
frames, or over --total_environment_frames when --extra gives it) and is stopped with Ctrl-C's
signal once `--frames` are done, which also writes its last checkpoint. Then it writes the learning curve, the mean return of the last 100 episodes against frames,
as benchmarks/results/pong_learning.csv and .png, and prints the wall time, when +18 was reached and
how many of the network's ReLU units never fire on Pong's frames (dead units learn nothing).
`--plot_only` redraws them from an earlier run's logdir. `--compare` draws the mean-return curves of
every run in benchmarks/results (pong_learning*.csv, or those named by `--runs`) in one figure,
`--figure`.png (beyond six settings, a panel per setting over the others in grey), and prints the
runs table of docs/pong_learning.md: when each run first reached `--target` within `--frames`, and
how many did; `--equal_frames` cuts the curves at the shortest run's frames:

    .venv/bin/python benchmarks/pong_learning.py --compare --equal_frames --figure=pong_agents \
        --runs=pong_learning,pong_learning_a2c,pong_learning_a3c
"""
import collections
import csv
import glob
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

from absl import app
from absl import flags
import numpy as np

import silent_units  # pylint: disable=g-bad-import-order

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from runtime import curves  # pylint: disable=g-import-not-at-top,wrong-import-position

RESULTS = os.path.join(REPO, 'benchmarks', 'results')

flags.DEFINE_enum('agent', 'impala', ['impala', 'a3c', 'a2c'], 'The agent (experiment.py --agent).')
flags.DEFINE_integer('frames', 12_000_000, 'Frames to train for.')
# The fastest layout on a 2-core machine (benchmarks/throughput.py); runs before 2026-11-21 used 16
# actors, 2 threads and 4 environments a process.
flags.DEFINE_integer('num_actors', 64, 'Actors (environments).')
flags.DEFINE_integer('actor_threads', 8, 'Threads driving the actors (IMPALA).')
flags.DEFINE_integer('envs_per_process', 8, 'Environments each environment process hosts (IMPALA, A2C '
                     'with --extra=--a2c_sync=step).')
flags.DEFINE_string('logdir', '/tmp/agent/pong_learning', 'Where the run writes; emptied first.')
flags.DEFINE_bool('plot_only', False, 'Only draw the curve from an existing logdir.')
flags.DEFINE_bool('compare', False, 'Only draw the runs in benchmarks/results in one figure.')
flags.DEFINE_float('target', 18., 'The mean return (last 100 episodes) to report reaching.')
flags.DEFINE_integer('frames_past_target', None, 'Stop this many frames after the mean return first '
                     'reaches --target (a run that counts whether it gets there need not go on to '
                     '--frames); unset: train to --frames.', lower_bound=0)
flags.DEFINE_list('extra', [], 'More experiment.py flags, e.g. --extra=--entropy_cost=0.0006.')
flags.DEFINE_string('name', 'pong_learning', 'Base name of the CSV and PNG in benchmarks/results.')
flags.DEFINE_list('runs', [], '--compare: only these runs (base names of their CSVs); all by default.')
flags.DEFINE_bool('equal_frames', False, '--compare: cut every curve at the last frame of the shortest.')
flags.DEFINE_string('figure', 'pong_learning_runs', '--compare: base name of the figure.')
FLAGS = flags.FLAGS

AGENT_NAMES = {'impala': 'IMPALA', 'a3c': 'A3C', 'a2c': 'Batched A2C'}


def _trained_enough():
  """True at --frames, or --frames_past_target frames after the mean return first reached --target."""
  episodes = curves.read_episodes(curves.episodes_csv(FLAGS.logdir))
  frames = episodes['frames']
  if not len(frames):
    return False
  if frames[-1] >= FLAGS.frames:
    return True
  if FLAGS.frames_past_target is None:
    return False
  reached = curves.first_reached(curves.running_mean(episodes['episode_return']), FLAGS.target)
  return reached is not None and frames[-1] - frames[reached] >= FLAGS.frames_past_target


def train():
  if os.path.exists(FLAGS.logdir):
    subprocess.run(['rm', '-rf', FLAGS.logdir], check=True)
  command = [sys.executable, os.path.join(REPO, 'experiment.py'), '--level_name=atari/pong',
             f'--agent={FLAGS.agent}', f'--logdir={FLAGS.logdir}', f'--num_actors={FLAGS.num_actors}',
             '--summary_secs=30'] + FLAGS.extra
  if FLAGS.agent == 'impala':  # The others decide their threads; A3C plays one environment a process.
    command += [f'--actor_threads={FLAGS.actor_threads}', f'--envs_per_process={FLAGS.envs_per_process}']
  elif '--a2c_sync=step' in FLAGS.extra:
    command += [f'--envs_per_process={FLAGS.envs_per_process}']
  print(' '.join(command), flush=True)
  start = time.monotonic()
  process = subprocess.Popen(command, cwd=REPO)
  try:
    while process.poll() is None and not _trained_enough():
      time.sleep(5)
  except KeyboardInterrupt:  # Stopping early still leaves the CSV and the plot of what was trained.
    print('Interrupted: stopping the run, then plotting what it trained.', flush=True)
  finally:
    if process.poll() is None:
      process.send_signal(signal.SIGINT)
      process.wait()
  return time.monotonic() - start


def plot(wall_seconds=None):
  episodes = curves.read_episodes(curves.episodes_csv(FLAGS.logdir))
  frames, seconds, returns = episodes['frames'], episodes['seconds'], episodes['episode_return']
  window = curves.WINDOW
  means = curves.running_mean(returns, window)
  os.makedirs(RESULTS, exist_ok=True)
  with open(os.path.join(RESULTS, f'{FLAGS.name}.csv'), 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['frames', 'seconds', 'episode_return', 'mean_return_last_100'])
    writer.writerows(zip(frames, seconds, returns, np.round(means, 3)))
  reached = curves.first_reached(means, FLAGS.target, window)

  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, ax = plt.subplots(figsize=(8, 4.5))
  ax.plot(frames / 1e6, returns, '.', color='0.75', markersize=3, label='episode return')
  ax.plot(frames / 1e6, means, color='C0', linewidth=2, label=f'mean of last {window} episodes')
  ax.axhline(FLAGS.target, color='C3', linestyle='--', linewidth=1, label=f'+{FLAGS.target:g}')
  if reached is not None:
    ax.axvline(frames[reached] / 1e6, color='C3', linewidth=1)
  ax.set_xlabel('environment frames (millions)')
  ax.set_ylabel('episode return')
  ax.set_ylim(-22, 22)
  title = (f'{AGENT_NAMES[FLAGS.agent]} on Atari Pong (shallow, paper Atari settings'
           + (', ' + ' '.join(FLAGS.extra) if FLAGS.extra else '') + '), 2-core CPU')
  ax.set_title(textwrap.fill(title, 80), fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(loc='upper left')
  fig.tight_layout()
  fig.savefig(os.path.join(RESULTS, f'{FLAGS.name}.png'), dpi=110)

  print(f'episodes: {len(returns)}, frames: {frames[-1]:,}, '
        f'final mean return (last {window}): {means[-1]:.2f}')
  if wall_seconds is not None:
    print(f'wall time: {wall_seconds / 60:.1f} min, {frames[-1] / wall_seconds:.0f} frames/s overall')
  if reached is not None:
    print(f'mean return >= {FLAGS.target:g} first at {frames[reached]:,} frames, '
          f'{seconds[reached] / 60:.1f} min into training')
  else:
    print(f'mean return never reached {FLAGS.target:g}')
  network = next((e.split('=', 1)[1] for e in FLAGS.extra if e.startswith('--network=')), 'shallow')
  if network in ('shallow', 'nature') and not any(e.startswith('--use_lstm') for e in FLAGS.extra):
    center_frames = any(e in ('--center_frames', '--center_frames=true') for e in FLAGS.extra)
    frames_played, num_actions = silent_units.random_play_frames('atari/pong')
    silent = silent_units.silent_units(silent_units.latest_checkpoint(FLAGS.logdir), frames_played,
                                       num_actions, network, center_frames)
    print('ReLU units that never fire on 600 frames of random play: ' +
          ', '.join(f'{name} {dead}/{units}' for name, (dead, units) in silent.items()))


def compare():
  """One figure with the mean-return curves of the runs' CSVs in benchmarks/results."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  paths = sorted(glob.glob(os.path.join(RESULTS, 'pong_learning*.csv')))
  if FLAGS.runs:
    paths = [os.path.join(RESULTS, f'{name}.csv') for name in FLAGS.runs]
  runs = {}
  for path in paths:
    with open(path) as f:
      rows = list(csv.DictReader(f))
    runs[os.path.basename(path)[:-len('.csv')]] = (
        np.array([int(r['frames']) for r in rows]), np.array([float(r['seconds']) for r in rows]),
        np.array([float(r['mean_return_last_100']) for r in rows]),
        np.array([float(r['episode_return']) for r in rows]))
  limit = min(run[0][-1] for run in runs.values()) if FLAGS.equal_frames else np.inf
  # One group per setting: runs whose names differ only in a _run2, _run3, ... or _unfinished1, ...
  # suffix.
  group_of = {name: re.sub(r'_(run|unfinished)\d+$', '', name) for name in runs}
  draw = _panels if len(set(group_of.values())) > len(_SHADES) else _one_axes
  fig = draw(plt, runs, group_of, limit)
  fig.savefig(os.path.join(RESULTS, f'{FLAGS.figure}.png'), dpi=110)
  print(runs_table(runs))


def _one_axes(plt, runs, group_of, limit):
  """Every run on one axes: one hue per setting; the runs of a setting differ in shade and line
  style, so ten runs of one command stay apart."""
  # Beyond 4 runs the legend stands beside the axes, a line per run: the figure grows to hold it.
  fig, ax = plt.subplots(figsize=(8, 4.5) if len(runs) <= 4 else (12, max(5., 0.2 * len(runs))))
  group_index = {group: i for i, group in enumerate(dict.fromkeys(group_of.values()))}
  group_size = collections.Counter(group_of.values())
  one_command = len(group_index) == 1  # Then the title names the command and a label the run.
  repeats = collections.Counter()
  lowest, highest = FLAGS.target, -21.
  for name, (frames, seconds, means, _) in runs.items():
    group = group_of[name]
    style = _STYLES[repeats[group] % len(_STYLES)]
    colour = plt.get_cmap(_SHADES[group_index[group]])(_shade(repeats[group], group_size[group]))
    repeats[group] += 1
    shown = frames <= limit
    if one_command:
      suffix = name[len(group):].lstrip('_')
      label = suffix.replace('run', 'run ') if suffix else 'run 1'
    else:
      label = describe(name)
    label += f' ({frames[shown][-1] / seconds[shown][-1]:,.0f} frames/s)'
    ax.plot(frames[shown] / 1e6, means[shown], linewidth=2, label=label,
            color=colour, linestyle=style)
    lowest, highest = min(lowest, means[shown].min()), max(highest, means[shown].max())
  if highest > FLAGS.target - 10:  # The target line where the curves come near it.
    ax.axhline(FLAGS.target, color='0.3', linestyle='--', linewidth=1)
  ax.set_ylim(max(-21.5, lowest - 0.5), min(21.5, max(highest, FLAGS.target) + 1.)
              if highest > FLAGS.target - 10 else highest + 0.5)
  ax.set_xlabel('environment frames (millions)')
  ax.set_ylabel('mean return of the last 100 episodes')
  title = 'Atari Pong, 2-core CPU'
  if one_command:
    title += '\n' + textwrap.fill(describe(next(iter(group_index))), 90)
  ax.set_title(title, fontsize=9 if one_command else 10)
  ax.grid(alpha=0.3)
  if one_command:  # Short labels; the curves are high by the time they reach the right.
    ax.legend(loc='lower right', fontsize=9)
  elif len(runs) <= 4:
    ax.legend(loc='upper left', fontsize=9)
  else:  # Beside the axes, where it hides no curve.
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.), fontsize=8)
  fig.tight_layout()
  return fig


_SHADES = ('Blues', 'Greens', 'Oranges', 'Purples', 'Reds', 'Greys')  # One colour map a setting.
_STYLES = ('-', '--', ':', '-.', (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))


def _shade(i, n):
  """Where the i-th of a group's n runs sits on its colour map: dark enough to see, apart."""
  return 0.75 if n == 1 else 0.4 + 0.55 * i / (n - 1)


def _panels(plt, runs, group_of, limit):
  """Beyond six settings one axes holds too many curves to tell apart: a panel per setting, its
  runs in blue over every other run in grey, on shared axes. The words every setting shares title
  the figure; each panel names the rest, how many runs reached --target and how fast they trained."""
  groups = list(dict.fromkeys(group_of.values()))
  words = [describe(group).split(' ') for group in groups]
  shared = 0
  while all(len(w) > shared + 1 and w[shared] == words[0][shared] for w in words):
    shared += 1
  columns = 3
  rows = -(-len(groups) // columns)
  fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.1 * rows), sharex=True,
                           sharey=True, squeeze=False, layout='constrained')
  for ax, group, group_words in zip(axes.flat, groups, words):
    members = [name for name in runs if group_of[name] == group]
    for name, (frames, _, means, _) in runs.items():
      if group_of[name] != group:
        shown = frames <= limit
        ax.plot(frames[shown] / 1e6, means[shown], color='0.85', linewidth=0.8)
    speeds, hits = [], 0
    for i, name in enumerate(members):
      frames, seconds, means, _ = runs[name]
      shown = frames <= limit
      speeds.append(frames[shown][-1] / seconds[shown][-1])
      hits += _target_reached_at(frames, means) is not None
      ax.plot(frames[shown] / 1e6, means[shown], linewidth=1.6, linestyle=_STYLES[i % len(_STYLES)],
              color=plt.get_cmap('Blues')(_shade(i, len(members))))
    ax.axhline(FLAGS.target, color='0.3', linestyle='--', linewidth=0.8)
    runs_said = f'{len(members)} runs' if len(members) > 1 else '1 run'
    unfinished = sum(name[len(group):].startswith('_unfinished') for name in members)
    runs_said += f' ({unfinished} unfinished)' if unfinished else ''
    speed = (f'{min(speeds):,.0f}-{max(speeds):,.0f}' if len(members) > 1 else f'{speeds[0]:,.0f}')
    ax.set_title(textwrap.fill(' '.join(group_words[shared:]), 48) +
                 f'\n{runs_said}, {hits} at +{FLAGS.target:g} within {FLAGS.frames / 1e6:g}M frames; '
                 f'{speed} frames/s', fontsize=8)
    ax.grid(alpha=0.3)
  for ax in axes.flat[len(groups):]:
    ax.set_visible(False)
  for ax in axes.flat[max(0, len(groups) - columns):len(groups)]:  # The lowest of each column.
    ax.set_xlabel('environment frames (millions)')
    ax.xaxis.set_tick_params(labelbottom=True)
  for ax in axes[:, 0]:
    ax.set_ylabel('mean return (last 100)')
  common = ' '.join(words[0][:shared]).rstrip(',')
  fig.suptitle('Atari Pong, 2-core CPU' + (f': {common}' if common else ''), fontsize=10)
  return fig


def _target_reached_at(frames, means):
  """The index of the first episode whose mean reached --target within --frames; None if none."""
  return curves.first_reached(means[frames <= FLAGS.frames], FLAGS.target)


def describe(name):
  """A run's agent and settings from its name, for a legend or a title."""
  settings = name[len('pong_learning_'):] or 'paper Atari settings'
  agent = settings.split('_')[0] if settings.split('_')[0] in AGENT_NAMES else 'impala'
  settings = settings[len(agent):].lstrip('_') if agent != 'impala' else settings
  return (AGENT_NAMES[agent] + (f', {settings}' if settings else '')).replace('_', ' ')


def runs_table(runs):
  """The runs table of docs/pong_learning.md (Markdown): when each run first reached the target,
  within --frames, and the share of its games won 21-0 in the last 2M frames of that budget."""
  lines = [f'| run | +{FLAGS.target:g} first at | mean return at {FLAGS.frames / 1e6:g}M frames | '
           f'training time to {FLAGS.frames / 1e6:g}M frames | games won 21-0 in the last 2M frames |',
           '|---|---|---|---|---|']
  hits = 0
  for name, (frames, seconds, means, returns) in runs.items():
    # A run stopped early (say, by the end of a working session) says where its numbers end.
    cut = f' (stopped at {frames[-1] / 1e6:.2f}M)' if frames[-1] < FLAGS.frames else ''
    within = frames <= FLAGS.frames
    frames, seconds, means, returns = frames[within], seconds[within], means[within], returns[within]
    # What tells the runs that level off near +18 (they concede a point or two a game) from those
    # that go on past +19 (a fifth to two thirds of their games won without conceding a point).
    perfect = np.mean(returns[frames > frames[-1] - 2_000_000] == 21.)
    i = _target_reached_at(frames, means)
    if i is None:
      best = int(np.argmax(means))
      reached = f'not reached (at most {means[best]:+.2f}, at {frames[best] / 1e6:.1f}M frames)'
    else:
      hits += 1
      reached = f'{frames[i] / 1e6:.2f}M frames ({seconds[i] / 60:.1f} min)'
    lines.append(f'| {name} | {reached} | {means[-1]:+.1f}{cut} | {seconds[-1] / 60:.1f} min{cut} | '
                 f'{perfect:.0%} |')
  lines.append(f'{hits} of {len(runs)} runs reached +{FLAGS.target:g} within '
               f'{FLAGS.frames / 1e6:g}M frames.')
  return '\n'.join(lines)


def main(argv):
  del argv
  if FLAGS.compare:
    compare()
  else:
    plot(None if FLAGS.plot_only else train())


if __name__ == '__main__':
  app.run(main)
