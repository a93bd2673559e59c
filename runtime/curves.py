"""`<logdir>/learning_curve.png`, redrawn while a run trains: the mean return of the last 100 episodes
against frames, a panel per level (human-normalised for DMLab-30 and Atari-57), with the paper's
final score for the level as a line where the paper has one."""
import csv
import math
import os
import time

import numpy as np

import atari57
import dmlab30

WINDOW = 100  # Episodes in the running mean.
# A run's record of finished episodes, a row each, written by runtime.progress and read here, by PBT's
# fitness and by the benchmarks.
EPISODES_CSV = 'episodes.csv'
COLUMNS = ('frames', 'seconds', 'level', 'episode_return', 'episode_frames')


def episodes_csv(logdir):
  """The path of a run's episodes.csv."""
  return os.path.join(logdir, EPISODES_CSV)


def paper_reference(level_name, level, network):
  """(the paper's final score for `level` in a run of `level_name`, what it is), or (None, None)."""
  if level_name == 'dmlab30':
    test = dmlab30.canonical_level_name(level)
    return (_normalised(level, dmlab30.PAPER_TABLE_B1[test].impala_deep_pbt),
            'IMPALA deep PBT (Table B.1)')
  if level_name == 'atari57':
    game = atari57.canonical_level_name(level)
    score = atari57.PAPER_TABLE_C1[game].impala_deep_multitask
    return (None, None) if score is None else (_normalised(level, score),
                                               'IMPALA deep multi-task (Table C.1)')
  if level.startswith('atari/') and level[len('atari/'):] in atari57.PAPER_TABLE_C1:
    row = atari57.PAPER_TABLE_C1[level[len('atari/'):]]
    if network == 'deep':
      return row.impala_deep_experts, 'IMPALA deep expert (Table C.1)'
    return row.impala_shallow_experts, 'IMPALA shallow expert (Table C.1)'
  if level in dmlab30.ALL_LEVELS:
    return (dmlab30.PAPER_TABLE_B1[dmlab30.canonical_level_name(level)].impala_experts_deep,
            'IMPALA-Experts deep (Table B.1)')
  return None, None


def _normalised(level, mean_return):
  """Human-normalised score in % of a level of DMLab-30 or Atari-57."""
  if level in dmlab30.ALL_LEVELS:
    test = dmlab30.canonical_level_name(level)
    human, random = dmlab30.HUMAN_SCORES[test], dmlab30.RANDOM_SCORES[test]
  else:
    game = atari57.canonical_level_name(level)
    human, random = atari57.HUMAN_SCORES[game], atari57.PAPER_RANDOM_SCORES[game]
  return 100. * (mean_return - random) / (human - random)


def read_episodes(path):
  """The columns of an episodes.csv as arrays: frames, seconds, level, episode_return, episode_frames
  (empty if the file does not exist yet). Reads complete lines only: a run may be writing the last
  one."""
  columns = {name: [] for name in COLUMNS}
  if os.path.exists(path):
    with open(path) as f:
      text = f.read()
    for row in csv.DictReader(text[:text.rfind('\n') + 1].splitlines()):
      for name, values in columns.items():
        values.append(row[name])
  return {'frames': np.array(columns['frames'], dtype=np.int64),
          'seconds': np.array(columns['seconds'], dtype=np.float64),
          'level': np.array(columns['level'], dtype=str),
          'episode_return': np.array(columns['episode_return'], dtype=np.float64),
          'episode_frames': np.array(columns['episode_frames'], dtype=np.int64)}


def frames_so_far(path):
  """The frame count at an episodes.csv's last finished episode (0 before the first)."""
  frames = read_episodes(path)['frames']
  return int(frames[-1]) if len(frames) else 0


def read_curves(path):
  """{level: (frames, mean return of the last WINDOW episodes)} from an episodes.csv."""
  episodes = read_episodes(path)
  curves = {}
  for level in sorted(set(episodes['level'])):
    mine = episodes['level'] == level
    curves[level] = (episodes['frames'][mine], running_mean(episodes['episode_return'][mine]))
  return curves


def running_mean(returns, window=WINDOW):
  """Each episode's mean return over the last `window` episodes (fewer at the start)."""
  sums = np.cumsum(np.concatenate([[0.], np.asarray(returns, dtype=np.float64)]))
  ends = np.arange(1, len(sums))
  counts = np.minimum(ends, window)
  return (sums[ends] - sums[ends - counts]) / counts


def first_reached(means, target, window=WINDOW):
  """Index of the first episode whose mean over the last `window` (a full window) reaches `target`,
  or None. The benchmarks' one rule for "+18 first at" and the like."""
  reached = np.flatnonzero((np.asarray(means) >= target) & (np.arange(len(means)) >= window - 1))
  return int(reached[0]) if len(reached) else None


def draw(logdir, level_name, network):
  """Draws `<logdir>/learning_curve.png` from `<logdir>/episodes.csv`; False if no episode ended yet."""
  curves = read_curves(episodes_csv(logdir))
  if not curves:
    return False
  from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel; costs a second.
  suite = level_name in ('dmlab30', 'atari57')
  columns = min(len(curves), 6)
  rows = math.ceil(len(curves) / columns)
  figure = Figure(figsize=(min(max(4 * columns, 7.5), 20), 3 * rows + 1.2), layout='constrained')
  axes = figure.subplots(rows, columns, squeeze=False).ravel()
  for ax, (level, (frames, means)) in zip(axes, curves.items()):
    values = np.array([_normalised(level, m) for m in means]) if suite else means
    ax.plot(frames / 1e6, values, color='C0', linewidth=1.5)
    reference, label = paper_reference(level_name, level, network)
    if reference is not None:
      ax.axhline(reference, color='C3', linestyle='--', linewidth=1, label=f'paper: {label}')
      ax.legend(fontsize=7, loc='lower right')
    ax.set_title(level, fontsize=9)
    ax.set_xlabel('frames (millions)', fontsize=8)
    ax.set_ylabel('human-normalised %' if suite else f'mean return, last {WINDOW}', fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
  for ax in axes[len(curves):]:
    ax.set_visible(False)
  figure.suptitle(f'{level_name}: mean of the last {WINDOW} episodes '
                  f'(drawn {time.strftime("%Y-%m-%d %H:%M")})', fontsize=10)
  tmp = os.path.join(logdir, '.learning_curve.png')
  figure.savefig(tmp, dpi=80)
  os.replace(tmp, os.path.join(logdir, 'learning_curve.png'))  # Never half a picture.
  return True


class CurvePainter:
  """Redraws the learning curve at most every `every_secs` (drawing takes a fraction of a second)."""

  def __init__(self, logdir, level_name, network, every_secs=60.):
    self._args = (logdir, level_name, network)
    self._every = every_secs
    self._last = -math.inf

  def maybe_draw(self, force=False):
    now = time.monotonic()
    if force or now - self._last >= self._every:
      if draw(*self._args):
        self._last = now
