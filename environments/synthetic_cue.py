"""'synthetic/cue_<shift>_x<scale>': small tasks a correct agent learns in seconds, whose rewards can
differ by orders of magnitude from one task to another (PopArt's multi-task runs, docs/popart.md).

Every step shows a cue, one of 3 vertical thirds of the frame lit, and a marker band at the top lit
over third `shift` (0, 1 or 2), which tells the tasks apart; the action (cue + shift) mod 3 pays
`scale`, any other 0. An episode lasts EPISODE_STEPS steps: random play earns 10/3 x scale, the best
10 x scale. Tasks of different shifts want different actions for the same cue, so one network must
read the marker to play them all. 'synthetic/cue_0_x1,synthetic/cue_1_x1000' is a two-task suite whose
rewards differ a thousandfold. Frames are 36 x 36 grey levels; everything follows from the seed.
"""
import re

import numpy as np

from environments import base
from environments.config import EnvSpec

PREFIX = 'synthetic/cue_'
NAME = re.compile(r'synthetic/cue_([012])_x(\d+(?:\.\d+)?(?:e[+-]?\d+)?)')
NUM_ACTIONS = 3
EPISODE_STEPS = 10
FRAME_SIZE = 36
MARKER_ROWS = 8


def parse(level_name):
  """(shift, reward scale) of a 'synthetic/cue_<shift>_x<scale>' level; ValueError otherwise."""
  match = NAME.fullmatch(level_name)
  if not match or float(match.group(2)) <= 0:
    raise ValueError(f"{level_name!r}: a cue task is 'synthetic/cue_<shift>_x<scale>', shift 0, 1 "
                     "or 2 and a positive scale, e.g. 'synthetic/cue_1_x1000'")
  return int(match.group(1)), float(match.group(2))


def environment_spec(level_name, config):
  parse(level_name)
  return EnvSpec((FRAME_SIZE, FRAME_SIZE, 1), False, NUM_ACTIONS, config.num_action_repeats)


class SyntheticCue(base.Environment):

  def __init__(self, level_name, seed, config):
    self.spec = environment_spec(level_name, config)
    self._shift, self._scale = parse(level_name)
    self._random = np.random.RandomState(seed)
    self._marker = np.zeros(self.spec.frame_shape, np.uint8)
    third = FRAME_SIZE // NUM_ACTIONS
    self._marker[:MARKER_ROWS, third * self._shift:third * (self._shift + 1)] = 255

  def _show_cue(self):
    self._cue = self._random.randint(NUM_ACTIONS)
    third = FRAME_SIZE // NUM_ACTIONS
    frame = self._marker.copy()
    frame[MARKER_ROWS + 4:, third * self._cue:third * (self._cue + 1)] = 255
    self._frame = frame

  def _begin_episode(self, first):
    self._steps = 0
    self._show_cue()
    return {'frame': self._frame}

  def _act(self, action):
    rewarded = (self._cue + self._shift) % NUM_ACTIONS
    reward = self._scale * float(base.check_action(action, NUM_ACTIONS) == rewarded)
    self._steps += 1
    self._show_cue()
    return reward, self._steps >= EPISODE_STEPS

  def _observation(self):
    return {'frame': self._frame}
