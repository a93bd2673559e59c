"""The step semantics and episode accounting every environment here shares."""
import collections

import numpy as np

# Return so far and length so far (in frames) of the episode the step belongs to; at `done` steps
# these describe the episode that just finished.
StepOutputInfo = collections.namedtuple('StepOutputInfo', 'episode_return episode_step')
# reward: float32; info: StepOutputInfo; done: bool; observation: dict with 'frame' (uint8 [H, W, C])
# and, for DeepMind Lab, 'instruction' (the level's language instruction, a str; '' if none).
StepOutput = collections.namedtuple('StepOutput', 'reward info done observation')


class Environment:
  """Turns a subclass's `_begin_episode` and `_act` into the original release's `StepOutput`s.

  `initial()` starts afresh and reports done=True, reward 0 and info (0, 0). `step(action)` reports the
  reward of that step and the running return and length (in frames); when the step ends the episode,
  the environment begins the next one at once: the step carries done=True, the finished episode's
  return and length, and the first observation of the next episode.

  Types: reward and episode_return are np.float32, episode_step np.int32, done a bool.

  Subclasses set `spec` (an EnvSpec) and implement:
    _begin_episode(first) -> observation: start an episode and return its first observation; `first`
        is True for `initial()` and False when a step has just ended an episode.
    _act(action) -> (reward, episode_over): advance by one agent step (all its action repeats).
    _observation() -> observation: the current observation, mid-episode.
    close().
  """
  spec = None

  def initial(self):
    self._episode_return = 0.
    self._episode_frames = 0
    observation = self._begin_episode(first=True)
    return StepOutput(np.float32(0.), StepOutputInfo(np.float32(0.), np.int32(0)), True, observation)

  def step(self, action):
    reward, episode_over = self._act(action)
    self._episode_return += reward
    self._episode_frames += self.spec.num_action_repeats
    info = StepOutputInfo(np.float32(self._episode_return), np.int32(self._episode_frames))
    if episode_over:
      self._episode_return = 0.
      self._episode_frames = 0
      observation = self._begin_episode(first=False)
    else:
      observation = self._observation()
    return StepOutput(np.float32(reward), info, bool(episode_over), observation)

  def close(self):
    pass

  def __enter__(self):
    return self

  def __exit__(self, *unused_exc_info):
    self.close()


def check_action(action, num_actions):
  """The action as a Python int; ValueError unless it is one of `num_actions`."""
  index = int(action)
  if index != action or not 0 <= index < num_actions:
    raise ValueError(f'action must be an int in [0, {num_actions}), got {action!r}')
  return index
