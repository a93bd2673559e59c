"""'synthetic/dmlab': DeepMind Lab's observation and action shapes at almost no cost per step.

For benchmarks and pipeline tests at DMLab sizes where DeepMind Lab is not installed. Each episode
lasts EPISODE_STEPS agent steps. Every step shows one of NUM_FRAMES random frames (drawn once, from
the seed); each frame has one rewarded action, so an agent can learn the task from pixels: reward 1
when the action matches the frame shown before the step, else 0. Everything follows from the seed and
the actions taken.
"""
import numpy as np

from environments import base
from environments.config import EnvSpec
from environments.dmlab import ACTION_SET

LEVEL_NAME = 'synthetic/dmlab'
EPISODE_STEPS = 100
NUM_FRAMES = 16
INSTRUCTION = 'pick the action this frame rewards'


class SyntheticDmLab(base.Environment):

  def __init__(self, seed, config):
    self.spec = EnvSpec((config.height, config.width, 3), True, len(ACTION_SET),
                        config.num_action_repeats)
    self._random_state = np.random.RandomState(seed)
    self._frames = self._random_state.randint(
        0, 256, size=(NUM_FRAMES,) + self.spec.frame_shape, dtype=np.uint8)
    # Observations hand out these arrays without copying; read-only keeps a consumer from altering
    # every later frame.
    self._frames.flags.writeable = False
    self._rewarded_actions = self._random_state.randint(0, len(ACTION_SET), size=NUM_FRAMES)

  def _show_random_frame(self):
    self._frame_index = self._random_state.randint(NUM_FRAMES)

  def _begin_episode(self, first):
    self._steps = 0
    self._show_random_frame()
    return self._observation()

  def _act(self, action):
    action = base.check_action(action, len(ACTION_SET))
    reward = float(action == self._rewarded_actions[self._frame_index])
    self._steps += 1
    if self._steps < EPISODE_STEPS:
      self._show_random_frame()
    return reward, self._steps >= EPISODE_STEPS

  def _observation(self):
    return {'frame': self._frames[self._frame_index], 'instruction': INSTRUCTION}
