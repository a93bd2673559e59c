"""Atari 2600 games through ale-py, with the paper's preprocessing (IMPALA appendix G.1, after DQN).

Each agent step repeats the action for `num_action_repeats` emulator frames and sums their raw
rewards (clipping is the learner's business). The observation 'frame' is uint8 [84, 84, 4], the last
four processed frames, oldest first; an episode's first observation holds its first frame four times.
A processed frame is the pixel-wise maximum of ALE's grayscale screens of the step's last two frames
(Atari games draw some objects on alternate frames only), resized to 84x84 with area interpolation.

Episodes: in training, losing a life ends the episode, but the game carries on from where it is; it
is reset only at game over. In evaluation (`is_test`) an episode is a whole game, and each game starts
with a random number (1 to noop_max) of no-op frames, so that evaluation does not replay one fixed
start; training games do so only with train_noop_max > 0. Without them every training game starts
on the same frame, and since a step is 4 frames, the agent only ever acts on one phase of the
game's frame count: a Pong agent trained so lost the evaluation games that began with an odd number
of no-ops (docs/pong_learning.md). Games are cut off after `max_episode_frames` emulator frames. Sticky
actions are off (repeat_action_probability 0), as in the paper.
"""
import collections
import difflib

import cv2
import numpy as np
from ale_py import Action, ALEInterface, LoggerMode, roms

from environments import base
from environments.config import EnvSpec

# One environment per process, many processes per machine: OpenCV's own thread pool only makes them
# compete for the cores (and costs more than it saves on an 84x84 resize).
cv2.setNumThreads(1)

FRAME_SIZE = 84
STACK_SIZE = 4
NUM_POOLED_FRAMES = 2
_LIST_GAMES = "python -c 'import ale_py.roms; print(ale_py.roms.get_all_rom_ids())'"


def check_game(game):
  """ValueError unless `game` is an ale-py ROM id."""
  games = roms.get_all_rom_ids()
  if game not in games:
    close = difflib.get_close_matches(game, games, n=3)
    hint = f' Did you mean {", ".join(close)}?' if close else ''
    raise ValueError(f'Unknown Atari game {game!r} (level name atari/{game}).{hint} Games are '
                     f'ale-py ROM ids, e.g. pong or space_invaders; list them with: {_LIST_GAMES}')


def _open_ale(game, seed):
  ALEInterface.setLoggerMode(LoggerMode.Error)  # No banner from every actor process.
  ale = ALEInterface()
  ale.setInt('random_seed', seed)
  ale.setFloat('repeat_action_probability', 0.)
  ale.loadROM(roms.get_rom_path(game))
  return ale


def _action_set(ale, config):
  return ale.getLegalActionSet() if config.atari_full_action_space else ale.getMinimalActionSet()


def environment_spec(game, config):
  """Opens the game briefly when the minimal action set is needed: its size depends on the game."""
  check_game(game)
  if config.atari_full_action_space:
    num_actions = len(Action.__members__)
  else:
    num_actions = len(_action_set(_open_ale(game, seed=0), config))
  return EnvSpec((FRAME_SIZE, FRAME_SIZE, STACK_SIZE), False, num_actions, config.num_action_repeats)


def process_screens(screens):
  """Pixel-wise maximum of grayscale screens [N, 210, 160], resized to uint8 [84, 84]."""
  pooled = np.max(screens, axis=0)
  return cv2.resize(pooled, (FRAME_SIZE, FRAME_SIZE), interpolation=cv2.INTER_AREA)


def draw_noops(random_state, noop_max):
  """The no-op frames a game starts with: 1 to noop_max, one draw per game."""
  return random_state.randint(1, noop_max + 1)


class Atari(base.Environment):

  def __init__(self, game, seed, is_test, config):
    check_game(game)
    self._ale = _open_ale(game, seed)
    self._actions = _action_set(self._ale, config)
    self.spec = EnvSpec((FRAME_SIZE, FRAME_SIZE, STACK_SIZE), False, len(self._actions),
                        config.num_action_repeats)
    self._is_test = is_test
    self._noop_max = config.noop_max if is_test else config.train_noop_max
    self._max_episode_frames = config.max_episode_frames
    self._random_state = np.random.RandomState(seed)
    height, width = self._ale.getScreenDims()
    # The screens of the last frames of a step (fewer when a step is shorter than that).
    self._screens = np.zeros((min(NUM_POOLED_FRAMES, self.spec.num_action_repeats), height, width),
                             np.uint8)
    self._stack = collections.deque(maxlen=STACK_SIZE)
    self._game_ended = True

  def _begin_episode(self, first):
    if first or self._game_ended:
      self._reset_game()
      frame = process_screens(self._screens[-1:])
    else:
      frame = self._stack[-1]  # A life was lost: the next episode starts where the game is.
    self._stack.extend([frame] * STACK_SIZE)
    self._lives = self._ale.lives()
    return self._observation()

  def _reset_game(self):
    self._ale.reset_game()
    if self._noop_max:
      for _ in range(draw_noops(self._random_state, self._noop_max)):
        self._ale.act(Action.NOOP)
        if self._ale.game_over():
          self._ale.reset_game()
    self._ale.getScreenGrayscale(self._screens[-1])
    self._game_ended = False

  def _act(self, action):
    ale_action = self._actions[base.check_action(action, len(self._actions))]
    repeats = self.spec.num_action_repeats
    first_pooled = repeats - len(self._screens)
    reward = 0
    for i in range(repeats):
      reward += self._ale.act(ale_action)
      if self._ale.game_over():
        break
      if i >= first_pooled:
        self._ale.getScreenGrayscale(self._screens[i - first_pooled])
    # Game over, or cut off.
    self._game_ended = (self._ale.game_over() or
                        self._ale.getEpisodeFrameNumber() >= self._max_episode_frames)
    if self._game_ended:
      return reward, True
    self._stack.append(process_screens(self._screens))
    lives = self._ale.lives()
    life_lost = lives < self._lives
    self._lives = lives
    return reward, life_lost and not self._is_test

  def _observation(self):
    return {'frame': np.stack(self._stack, axis=-1)}

  def colour_screen(self):
    """The emulator's current screen as a person sees it, uint8 RGB [210, 160, 3]: the last frame of
    the step (or the game's first, after a reset), in colour and full size, where `frame` is what the
    agent reads. Not part of the observation: test mode's video asks for it (video/screens.py)."""
    return self._ale.getScreenRGB()

  def close(self):
    self._ale = None
