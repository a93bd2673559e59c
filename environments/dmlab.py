"""DeepMind Lab levels through DeepMind Lab's Python API (`deepmind_lab.Lab`).

Level names: a DMLab-30 level name (one of DMLAB30_LEVELS: the 30 training levels and the test
variants whose names differ) gets the 'contributed/dmlab30/' prefix; any other name, e.g.
'seekavoid_arena_01' or 'contributed/dmlab30/rooms_watermaze', goes to DeepMind Lab as it is.
"""
import os
import shutil
import sys
import tempfile

import numpy as np

from environments import base
from environments.config import EnvSpec

# The paper's 9 actions over DeepMind Lab's 7 action dimensions: look left/right (pixels), look
# down/up (pixels), strafe left/right, move back/forward, fire, jump, crouch.
ACTION_SET = (
    (0, 0, 0, 1, 0, 0, 0),    # Forward
    (0, 0, 0, -1, 0, 0, 0),   # Backward
    (0, 0, -1, 0, 0, 0, 0),   # Strafe left
    (0, 0, 1, 0, 0, 0, 0),    # Strafe right
    (-20, 0, 0, 0, 0, 0, 0),  # Look left
    (20, 0, 0, 0, 0, 0, 0),   # Look right
    (-20, 0, 0, 1, 0, 0, 0),  # Look left + forward
    (20, 0, 0, 1, 0, 0, 0),   # Look right + forward
    (0, 0, 0, 0, 1, 0, 0),    # Fire
)
OBSERVATIONS = ('RGB_INTERLEAVED', 'INSTR')
DMLAB30_PREFIX = 'contributed/dmlab30/'
DMLAB30_LEVELS = frozenset("""
    rooms_collect_good_objects_train rooms_collect_good_objects_test
    rooms_exploit_deferred_effects_train rooms_exploit_deferred_effects_test
    rooms_select_nonmatching_object rooms_watermaze rooms_keys_doors_puzzle
    language_select_described_object language_select_located_object language_execute_random_task
    language_answer_quantitative_question
    lasertag_one_opponent_small lasertag_three_opponents_small lasertag_one_opponent_large
    lasertag_three_opponents_large
    natlab_fixed_large_map natlab_varying_map_regrowth natlab_varying_map_randomized
    skymaze_irreversible_path_hard skymaze_irreversible_path_varied
    psychlab_arbitrary_visuomotor_mapping psychlab_continuous_recognition
    psychlab_sequential_comparison psychlab_visual_search
    explore_object_locations_small explore_object_locations_large explore_obstructed_goals_small
    explore_obstructed_goals_large explore_goal_locations_small explore_goal_locations_large
    explore_object_rewards_few explore_object_rewards_many
""".split())
# The psychlab levels that read the brady_konkle_oliva2008 images: DeepMind Lab refuses to start them
# without a 'datasetPath'.
DATASET_LEVELS = frozenset(('psychlab_arbitrary_visuomotor_mapping', 'psychlab_continuous_recognition'))
# Evaluation uses DeepMind Lab's hold-out levels and this fixed mixer seed, as the original did.
TEST_MIXER_SEED = 0x600D5EED

_NOT_INSTALLED = (
    "DeepMind Lab level {level!r} needs the `deepmind_lab` Python module, which is not installed "
    "here. Install a DeepMind Lab wheel (`make install DMLAB_WHEEL=path/to/deepmind_lab-*.whl`), or "
    "build and use the Docker image that has it (`docker build -t impala .`; see the README, "
    "'Reproducing the paper'), or train on Atari instead, e.g. `--level_name=atari/pong`.")
_WITH_TENSORFLOW = (
    "DeepMind Lab crashes (segmentation fault, or 'free(): invalid pointer') in a process that has "
    'loaded TensorFlow, whichever is imported first: play {level!r} in an environment process '
    '(environments.EnvironmentProcess), as the runtime does.')


def level_path(level_name):
  """The level as DeepMind Lab names it."""
  return DMLAB30_PREFIX + level_name if level_name in DMLAB30_LEVELS else level_name


def lab_config(config, is_test):
  """The `config` dict for `deepmind_lab.Lab`: DeepMind Lab takes every value as a string."""
  settings = {
      'width': config.width,
      'height': config.height,
      'logLevel': 'WARN',
      'datasetPath': config.dataset_path,
  }
  if is_test:
    settings.update(allowHoldOutLevels='true', mixerSeed=TEST_MIXER_SEED)
  return {key: str(value) for key, value in settings.items()}


def environment_spec(config):
  return EnvSpec((config.height, config.width, 3), True, len(ACTION_SET), config.num_action_repeats)


class LevelCache:
  """DeepMind Lab's level cache over a local directory, so each map is compiled once.

  DeepMind Lab calls `fetch(key, pk3_path)` before compiling a map and `write(key, pk3_path)` after.
  Many environment processes share the directory, so writes land under a temporary name first and are
  renamed into place: a reader never sees half a file.
  """

  def __init__(self, cache_dir):
    self._cache_dir = os.fspath(cache_dir)
    os.makedirs(self._cache_dir, exist_ok=True)

  def fetch(self, key, pk3_path):
    try:
      shutil.copyfile(os.path.join(self._cache_dir, key), pk3_path)
    except FileNotFoundError:
      return False
    return True

  def write(self, key, pk3_path):
    path = os.path.join(self._cache_dir, key)
    if os.path.exists(path):
      return
    handle, temporary_path = tempfile.mkstemp(dir=self._cache_dir, prefix='.incomplete-')
    os.close(handle)
    try:
      shutil.copyfile(pk3_path, temporary_path)
      os.chmod(temporary_path, 0o644)  # mkstemp's 0600 would hide the map from other users' runs.
      os.replace(temporary_path, path)
    except BaseException:
      os.remove(temporary_path)
      raise


def _import_deepmind_lab(level_name):
  try:
    import deepmind_lab  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise ImportError(_NOT_INSTALLED.format(level=level_name)) from error
  if 'tensorflow' in sys.modules and hasattr(deepmind_lab, '__file__'):  # Stand-ins have no file.
    raise RuntimeError(_WITH_TENSORFLOW.format(level=level_name))
  return deepmind_lab


class DmLab(base.Environment):
  """A DeepMind Lab level: 9 actions, each repeated `num_action_repeats` frames.

  Like the original, the environment keeps a RandomState(seed) and draws a fresh level seed from it
  for every episode.
  """

  def __init__(self, level_name, seed, is_test, config):
    deepmind_lab = _import_deepmind_lab(level_name)
    self.spec = environment_spec(config)
    level = level_path(level_name)
    self._random_state = np.random.RandomState(seed)
    self._actions = np.array(ACTION_SET, dtype=np.intc)
    level_cache = LevelCache(config.level_cache_dir) if config.level_cache_dir else None
    self._lab = deepmind_lab.Lab(level, list(OBSERVATIONS), config=lab_config(config, is_test),
                                 level_cache=level_cache)

  def _begin_episode(self, first):
    self._lab.reset(seed=int(self._random_state.randint(0, 2**31 - 1)))
    return self._observation()

  def _act(self, action):
    action = base.check_action(action, len(ACTION_SET))
    reward = self._lab.step(self._actions[action], num_steps=self.spec.num_action_repeats)
    return float(reward), not self._lab.is_running()

  def _observation(self):
    observations = self._lab.observations()
    instruction = observations['INSTR']
    if isinstance(instruction, bytes):
      instruction = instruction.decode('utf-8')
    return {'frame': observations['RGB_INTERLEAVED'], 'instruction': instruction}

  def close(self):
    self._lab.close()
