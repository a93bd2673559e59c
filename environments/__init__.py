"""Environments for IMPALA: DeepMind Lab, Atari (ale-py), and a synthetic DMLab-shaped stand-in.

Every environment follows the original release's step semantics:
- `initial()` returns the first step of an episode, with `done=True`.
- `step(action)` returns the next step; when the episode ends the environment resets at once and
  returns the first observation of the next episode with `done=True`, together with the finished
  episode's return and length (in frames) in `info`.

Nothing in this package imports TensorFlow: environments run in processes of their own.
"""
# StepOutput(reward, info, done, observation) and StepOutputInfo(episode_return, episode_step) are
# described in base.py, with the step semantics.
from environments.base import StepOutput, StepOutputInfo
from environments.config import EnvConfig, EnvSpec
from environments.factory import create_environment, environment_spec
from environments.process import (EnvironmentGroup, EnvironmentProcess, EnvironmentProcessError,
                                  step_many)
