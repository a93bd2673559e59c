"""Environment settings (`EnvConfig`) and the shapes an agent is built from (`EnvSpec`)."""
import collections
import dataclasses
import os
from typing import Optional

# frame_shape: (height, width, channels) of observation['frame'], uint8. has_instruction: whether
# observation['instruction'] exists. num_action_repeats: frames per agent step.
EnvSpec = collections.namedtuple('EnvSpec', 'frame_shape has_instruction num_actions num_action_repeats')


def _is_int(value):
  # bool is an int subclass; `width=True` is a mistake, not a size.
  return isinstance(value, int) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class EnvConfig:
  """Settings shared by every level; each environment reads the ones that concern it.

  width, height: DeepMind Lab and synthetic frame size in pixels (Atari frames are always 84x84).
  num_action_repeats: frames per agent step; episode lengths are reported in frames.
  dataset_path: DeepMind Lab 'datasetPath', the brady_konkle_oliva2008 dataset psychlab levels need.
  level_cache_dir: directory for DeepMind Lab's compiled maps, shared by processes; None: no cache.
  atari_full_action_space: all 18 Atari actions instead of the game's minimal set.
  max_episode_frames: Atari games are cut off after this many emulator frames.
  noop_max: Atari evaluation episodes start with 1..noop_max random no-op frames (0: none).
  train_noop_max: the same for training games (0: none, every game starts alike).
  """
  width: int = 96
  height: int = 72
  num_action_repeats: int = 4
  dataset_path: str = ''
  level_cache_dir: Optional[str] = None
  atari_full_action_space: bool = False
  max_episode_frames: int = 108_000
  noop_max: int = 30
  train_noop_max: int = 0

  def __post_init__(self):
    for name in ('width', 'height', 'num_action_repeats', 'max_episode_frames'):
      value = getattr(self, name)
      if not _is_int(value) or value <= 0:
        raise ValueError(f'EnvConfig.{name} must be a positive int, got {value!r}')
    for name in ('noop_max', 'train_noop_max'):
      value = getattr(self, name)
      if not _is_int(value) or value < 0:
        raise ValueError(f'EnvConfig.{name} must be an int >= 0, got {value!r}')
    if not isinstance(self.dataset_path, str):
      raise ValueError(f'EnvConfig.dataset_path must be a str, got {self.dataset_path!r}')
    if self.level_cache_dir is not None and not isinstance(self.level_cache_dir, (str, os.PathLike)):
      raise ValueError(f'EnvConfig.level_cache_dir must be a path or None, got {self.level_cache_dir!r}')
    if not isinstance(self.atari_full_action_space, bool):
      raise ValueError(
          f'EnvConfig.atari_full_action_space must be a bool, got {self.atari_full_action_space!r}')
