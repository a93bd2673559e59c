"""A member's fitness, read from its episodes.csv as it trains.

The paper's: the mean capped human-normalised score for DMLab-30 and Atari-57 (over the levels that
have finished episodes: those --exclude_levels leaves out never do); for a single level with human and
random scores, its human-normalised score (in %); otherwise the mean return. Each level's score is
over its last `window` episodes.
"""
import collections
import csv
import os

import numpy as np

import atari57
import dmlab30
from dmlab30 import evaluation
from runtime import curves

CAP = 100.  # The paper caps each level's score at 100% in the multi-task mean.


def score(level_name, level_returns):
  """The fitness of returns {level: [episode returns]} in a run of `level_name`, or None if none."""
  level_returns = {level: list(r) for level, r in level_returns.items() if len(r)}
  if not level_returns:
    return None
  if level_name == 'dmlab30':
    return float(np.mean(list(dmlab30.human_normalized_scores(level_returns, CAP).values())))
  if level_name == 'atari57':
    return float(np.mean(list(atari57.human_normalized_scores(level_returns, CAP).values())))
  suite = evaluation.suite_for_level_name(level_name)
  if suite == 'dmlab30':
    return float(np.mean(list(dmlab30.human_normalized_scores(level_returns).values())))
  if suite == 'atari57':
    return float(np.mean(list(atari57.human_normalized_scores(level_returns).values())))
  return float(np.mean([np.mean(r) for r in level_returns.values()]))


def has_human_scores(level_name):
  return level_name in ('dmlab30', 'atari57') or evaluation.suite_for_level_name(level_name) is not None


class EpisodeReader:
  """Follows a member's episodes.csv: how many episodes it finished, at how many frames, and each
  level's last `window` returns. Reads only what was appended since the last call."""

  def __init__(self, logdir, window):
    self._path = curves.episodes_csv(logdir)
    self._offset = 0
    self._header = None
    self.episodes = 0
    self.frames = 0
    self.returns = collections.defaultdict(lambda: collections.deque(maxlen=window))

  def update(self):
    if not os.path.exists(self._path):
      return self
    with open(self._path, 'rb') as f:
      f.seek(self._offset)
      data = f.read()
    complete = data[:data.rfind(b'\n') + 1]  # A line being written is read next time.
    self._offset += len(complete)
    lines = complete.decode().splitlines()
    if self._header is None and lines:
      self._header, lines = next(csv.reader(lines[:1])), lines[1:]
    for row in csv.DictReader(lines, fieldnames=self._header):
      self.returns[row['level']].append(float(row['episode_return']))
      self.frames = int(row['frames'])
      self.episodes += 1
    return self

  def fitness(self, level_name):
    return score(level_name, self.returns)
