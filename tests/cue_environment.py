"""A small task a correct IMPALA learns in seconds; without TensorFlow, for environment processes."""
import numpy as np

import environments
from environments import base

CUE_ACTIONS = 3
CUE_EPISODE_STEPS = 10


class CueEnvironment(base.Environment):
  """A cue shows which of 3 actions pays 1 this step; 10 steps an episode (random play: 3.3)."""

  def __init__(self, seed):
    self.spec = environments.EnvSpec((36, 36, 1), False, CUE_ACTIONS, 1)
    self._random = np.random.RandomState(seed)

  def _next_cue(self):
    self._cue = self._random.randint(CUE_ACTIONS)
    frame = np.zeros(self.spec.frame_shape, np.uint8)
    frame[:, 12 * self._cue:12 * (self._cue + 1)] = 255  # The cue is which third is bright.
    return {'frame': frame}

  def _begin_episode(self, first):
    self._steps = 0
    return self._next_cue()

  def _act(self, action):
    reward = float(base.check_action(action, CUE_ACTIONS) == self._cue)
    self._steps += 1
    self._observation_after = self._next_cue()
    return reward, self._steps >= CUE_EPISODE_STEPS

  def _observation(self):
    return self._observation_after


def make_cue_environment(level_name, seed, is_test, config):
  del level_name, is_test, config
  return CueEnvironment(seed)


DELAY_STEPS = 4
DELAYED_TRIALS = 3


class DelayedCueEnvironment(base.Environment):
  """The cue's action pays 1 only DELAY_STEPS steps later; 3 trials an episode (random play: 1).

  A trial: the cue step, where the action counts, then DELAY_STEPS - 1 waiting steps whose actions do
  not. The waiting frames show how far the trial has got and whether the cue was answered right, so a
  feed-forward agent can value them; the choice is credited only through that value, step by step,
  across unroll boundaries when the unroll is shorter than the trial.
  """

  def __init__(self, seed):
    self.spec = environments.EnvSpec((36, 36, 1), False, CUE_ACTIONS, 1)
    self._random = np.random.RandomState(seed)

  def _cue_frame(self):
    self._cue = self._random.randint(CUE_ACTIONS)
    self._wait = 0
    frame = np.zeros(self.spec.frame_shape, np.uint8)
    frame[:, 12 * self._cue:12 * (self._cue + 1)] = 255
    return frame

  def _waiting_frame(self):
    frame = np.zeros(self.spec.frame_shape, np.uint8)
    rows = slice(9 * (self._wait - 1), 9 * self._wait)  # Which waiting step: a band of rows.
    frame[rows, slice(0, 18) if self._right else slice(18, 36)] = 255
    return frame

  def _begin_episode(self, first):
    self._trials = 0
    self._frame = self._cue_frame()
    return {'frame': self._frame}

  def _act(self, action):
    action = base.check_action(action, CUE_ACTIONS)
    reward = 0.
    if self._wait == 0:
      self._right = action == self._cue
    self._wait += 1
    if self._wait == DELAY_STEPS:
      reward = float(self._right)
      self._trials += 1
      self._frame = self._cue_frame()
    else:
      self._frame = self._waiting_frame()
    return reward, self._trials >= DELAYED_TRIALS

  def _observation(self):
    return {'frame': self._frame}


def make_delayed_cue_environment(level_name, seed, is_test, config):
  del level_name, is_test, config
  return DelayedCueEnvironment(seed)
