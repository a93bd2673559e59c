"""Progress: finished episodes and loss terms to TensorBoard, `episodes.csv` and the console; stopping
on a signal, at the frame budget or when a thread fails."""
import collections
import csv
import os
import signal
import threading
import time

from absl import logging
import numpy as np
import tensorflow as tf

import atari57
import dmlab30
from runtime import arrivals
from runtime import curves
from runtime import levels as levels_lib


class Monitor:
  """Finished episodes to TensorBoard, `<logdir>/episodes.csv` and the console's progress line."""

  def __init__(self, config, writer):
    self._config = config
    self._writer = writer
    self._recent = collections.defaultdict(lambda: collections.deque(maxlen=100))
    path = curves.episodes_csv(config.logdir)
    new = not os.path.exists(path)
    self._csv_file = open(path, 'a', newline='')  # pylint: disable=consider-using-with
    self._csv = csv.writer(self._csv_file)
    if new:
      self._csv.writerow(curves.COLUMNS)
    self._start = time.monotonic()
    self._last_report = (self._start, None)
    self._first_report = None  # (time, frames) of the first report: the rate for the time left.
    self._curve = curves.CurvePainter(config.logdir, config.level_name, config.network)
    self.arrivals = arrivals.Arrivals(silent_after_secs=10 * config.summary_secs)
    self._excluded = levels_lib.excluded_levels(config)  # Fixed for the run: read once.
    self._played = set(levels_lib.actor_levels(config))

  def actors(self, batch):
    """Notes which actors sent the batch's fresh unrolls, and what went missing (runtime.arrivals)."""
    self.arrivals.record(batch)

  def episodes(self, batch, frames):
    """Records the episodes that ended in a batch (those marked done after its first step)."""
    # A zero length marks the start after a replaced environment process, not an episode.
    done = (np.asarray(batch.env_outputs.done)[:, 1:] &
            (np.asarray(batch.env_outputs.info.episode_step)[:, 1:] > 0))
    if not done.any():
      return
    returns = np.asarray(batch.env_outputs.info.episode_return)[:, 1:][done]
    lengths = np.asarray(batch.env_outputs.info.episode_step)[:, 1:][done]
    levels = np.repeat(np.asarray(batch.level_name), done.sum(axis=1))
    seconds = time.monotonic() - self._start
    with self._writer.as_default(step=frames):
      for level, episode_return, length in zip(levels, returns, lengths):
        level = level.decode('utf-8')
        self._recent[level].append(float(episode_return))
        self._csv.writerow([frames, f'{seconds:.1f}', level, float(episode_return), int(length)])
        tf.summary.scalar(f'{level}/episode_return', episode_return)
        tf.summary.scalar(f'{level}/episode_frames', length)
    self._csv_file.flush()

  def report(self, frames, steps, terms, extra='', summaries=None):
    """Summaries of the loss terms and rates, and a progress line, every `summary_secs`.
    summaries: a function that gives more scalars, {tag: value}, read only when reporting (the
    learner's PopArt statistics)."""
    now = time.monotonic()
    last_time, last_frames = self._last_report
    if last_frames is not None and now - last_time < self._config.summary_secs:
      return
    self._last_report = (now, frames)
    self.arrivals.check_silent()
    fps = 0. if last_frames is None else (frames - last_frames) / (now - last_time)
    with self._writer.as_default(step=frames):
      for name, value in terms.items():
        tf.summary.scalar(f'learner/{name}', value)
      tf.summary.scalar('learner/frames_per_second', fps)
      tf.summary.scalar('actors/lost_frames', self.arrivals.lost_frames)
      tf.summary.scalar('actors/cut_episodes', self.arrivals.cut_episodes)
      for tag, value in (summaries() if summaries is not None else {}).items():
        tf.summary.scalar(tag, value)
      score = self.human_normalized_score()
      if score is not None:
        tf.summary.scalar(f'{self._config.level_name}/human_normalized_score', score)
    returns = ', '.join(f'{level} {np.mean(r):.2f}' for level, r in sorted(self._recent.items())[:4])
    logging.info('frames %d (%.1f%%) | %.0f frames/s | %s | steps %d | loss %.3f | mean return (last '
                 '100): %s%s%s', frames, 100. * frames / self._config.total_environment_frames, fps,
                 self._time_left(now, frames), steps, float(terms['total_loss']),
                 returns or 'no episode yet', '' if score is None else
                 f' | human-normalised {score:.1f}%{self._over_levels}', extra)
    self._curve.maybe_draw()

  def _time_left(self, now, frames):
    """The time the frame budget still needs at the rate since the first report."""
    if self._first_report is None:
      self._first_report = (now, frames)
    start_time, start_frames = self._first_report
    if frames <= start_frames:
      return 'time left: measuring'
    rate = (frames - start_frames) / (now - start_time)
    minutes = max(0, self._config.total_environment_frames - frames) / rate / 60
    return f'{int(minutes // 60)}h{int(minutes % 60):02d}m left'


  @property
  def _over_levels(self):
    left = len(dmlab30.TRAINING_LEVELS) - len(self._excluded)
    return f' ({left} of 30 levels)' if self._excluded else ''

  def human_normalized_score(self):
    """The running DMLab-30 (mean, capped) or Atari-57 (median) score, once every level has played."""
    suite = {'dmlab30': dmlab30, 'atari57': atari57}.get(self._config.level_name)
    if suite is None:
      return None
    returns = {level: list(r) for level, r in self._recent.items()}
    if suite is dmlab30 and self._excluded:
      # Over the levels the run plays (--exclude_levels), once each has finished an episode.
      if self._played - set(returns):
        return None
      scores = dmlab30.human_normalized_scores(returns, per_level_cap=100)
      return float(np.mean(list(scores.values())))
    try:
      if suite is dmlab30:
        return dmlab30.compute_human_normalized_score(returns, per_level_cap=100)
      return atari57.compute_human_normalized_score(returns, aggregate='median')
    except ValueError:
      return None  # Not every level has finished an episode yet.

  def close(self):
    self._csv_file.close()
    self._curve.maybe_draw(force=True)


class Stop:
  """Set on SIGINT/SIGTERM, at the frame budget, or when a thread fails (its error is kept)."""

  def __init__(self):
    self.event = threading.Event()
    self.error = None

  def fail(self, error):
    if self.error is None:
      self.error = error
    self.event.set()


_signals = []  # The signals handle_signals's handlers have received in this process, in turn.


def handle_signals(stop):
  """Sets `stop` on SIGINT and SIGTERM; returns a function that restores the previous handlers."""
  def handler(signum, unused_frame):
    logging.info('Received signal %d: stopping after the current step.', signum)
    _signals.append(signum)
    stop.event.set()
  previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
  return lambda: [signal.signal(s, h) for s, h in previous.items()]


def stopping_signal():
  """The first signal that stopped work in this process (handle_signals), or None: a program
  stopped by one before its frame budget exits with 128 + its number, as a shell reports it."""
  return _signals[0] if _signals else None
