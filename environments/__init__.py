"""Environments for IMPALA: DeepMind Lab, Atari (ale-py), and a synthetic DMLab-shaped stand-in.

Every environment follows the original release's step semantics:
- `initial()` returns the first step of an episode, with `done=True`.
- `step(action)` returns the next step; when the episode ends the environment resets at once and
  returns the first observation of the next episode with `done=True`, together with the finished
  episode's return and length (in frames) in `info`.

Nothing in this package imports TensorFlow: environments run in processes of their own.
"""
import collections

# Return so far and length so far (in frames) of the episode the step belongs to; at `done` steps
# these describe the episode that just finished.
StepOutputInfo = collections.namedtuple('StepOutputInfo', 'episode_return episode_step')
# reward: float32; info: StepOutputInfo; done: bool; observation: dict with 'frame' (uint8 [H, W, C])
# and, for DeepMind Lab, 'instruction' (the level's language instruction, a str; '' if none).
StepOutput = collections.namedtuple('StepOutput', 'reward info done observation')

# The submodules import StepOutput and StepOutputInfo from here, so they are imported after them.
# pylint: disable=wrong-import-position
from environments.config import EnvConfig, EnvSpec
from environments.factory import create_environment, environment_spec
from environments.process import (EnvironmentGroup, EnvironmentProcess, EnvironmentProcessError,
                                  step_many)
