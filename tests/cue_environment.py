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
