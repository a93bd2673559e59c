"""The DeepMind Lab binding, against a stand-in `deepmind_lab` module that checks what it is asked."""
import os
import sys
import types

import numpy as np
import pytest

import environments
from environments import dmlab

EPISODE_STEPS = 3  # The stand-in's episodes, in agent steps.

# The paper's action set (SPEC), in order.
PAPER_ACTIONS = [
    (0, 0, 0, 1, 0, 0, 0), (0, 0, 0, -1, 0, 0, 0), (0, 0, -1, 0, 0, 0, 0), (0, 0, 1, 0, 0, 0, 0),
    (-20, 0, 0, 0, 0, 0, 0), (20, 0, 0, 0, 0, 0, 0), (-20, 0, 0, 1, 0, 0, 0), (20, 0, 0, 1, 0, 0, 0),
    (0, 0, 0, 0, 1, 0, 0),
]


class FakeLab:
  """Follows DeepMind Lab's documented Python API and records every call."""
  instances = []

  def __init__(self, level, observations, config=None, renderer='software', level_cache=None):
    assert isinstance(level, str) and isinstance(observations, list)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in config.items()), config
    self.level, self.observation_names, self.config = level, observations, config
    self.renderer, self.level_cache = renderer, level_cache
    self.reset_seeds, self.steps = [], []
    self.running = False
    self.closed = False
    self.instruction = 'find the apple'
    # As DeepMind Lab: DMLab-30's hold-out levels refuse to start without this setting, and the
    # psychlab levels that read a dataset fail at the first reset without one.
    if level.endswith('_test') and config.get('allowHoldOutLevels') != 'true':
      raise RuntimeError('Failed to init environment - "...test_only.lua:33: This level must only be '
                         'used during evaluation. ... add the setting "allowHoldOutLevels" = "true"')
    self.needs_dataset = level.split('/')[-1] in dmlab.DATASET_LEVELS and not config['datasetPath']
    FakeLab.instances.append(self)

  def reset(self, episode=-1, seed=None):
    assert isinstance(seed, int) and 0 <= seed < 2**31
    if self.needs_dataset:
      raise RuntimeError('Failed to start environment - "...brady_konkle_oliva2008.lua:37: ..."')
    self.reset_seeds.append(seed)
    self.running = True
    self.episode_steps = 0

  def step(self, action, num_steps=1):
    assert self.running, 'stepped a finished episode without reset'
    assert isinstance(action, np.ndarray) and action.dtype == np.intc and action.shape == (7,)
    self.steps.append((tuple(action.tolist()), num_steps))
    self.episode_steps += 1
    self.running = self.episode_steps < EPISODE_STEPS
    return float(len(self.steps))  # Rewards 1, 2, 3, ...

  def observations(self):
    assert self.running, 'observations() of a finished episode'
    height, width = int(self.config['height']), int(self.config['width'])
    frame = np.full((height, width, 3), len(self.steps), np.uint8)
    return {'RGB_INTERLEAVED': frame, 'INSTR': self.instruction}

  def is_running(self):
    return self.running

  def close(self):
    self.closed = True


@pytest.fixture(name='fake_lab')
def fixture_fake_lab(monkeypatch):
  module = types.ModuleType('deepmind_lab')
  module.Lab = FakeLab
  monkeypatch.setitem(sys.modules, 'deepmind_lab', module)
  FakeLab.instances = []
  return FakeLab


def create(level='seekavoid_arena_01', seed=1, is_test=False, **config):
  env = environments.create_environment(level, seed=seed, is_test=is_test,
                                        config=environments.EnvConfig(**config))
  return env, FakeLab.instances[-1]


def test_training_config_and_observations(fake_lab):
  env, lab = create()
  assert lab.config == {'width': '96', 'height': '72', 'logLevel': 'WARN', 'datasetPath': ''}
  assert lab.observation_names == ['RGB_INTERLEAVED', 'INSTR']
  assert lab.level_cache is None
  assert env.spec == environments.EnvSpec((72, 96, 3), True, 9, 4)
  assert env.spec == environments.environment_spec('seekavoid_arena_01')


def test_test_mode_config(fake_lab):
  _, lab = create(is_test=True, width=64, height=48, dataset_path='/data/brady')
  assert lab.config == {
      'width': '64', 'height': '48', 'logLevel': 'WARN', 'datasetPath': '/data/brady',
      'allowHoldOutLevels': 'true', 'mixerSeed': str(0x600D5EED)}


@pytest.mark.parametrize('name, level', [
    ('rooms_watermaze', 'contributed/dmlab30/rooms_watermaze'),
    ('explore_goal_locations_small', 'contributed/dmlab30/explore_goal_locations_small'),
    ('rooms_collect_good_objects_test', 'contributed/dmlab30/rooms_collect_good_objects_test'),
    ('seekavoid_arena_01', 'seekavoid_arena_01'),
    ('contributed/dmlab30/rooms_watermaze', 'contributed/dmlab30/rooms_watermaze'),
    ('contributed/psychlab/visual_search', 'contributed/psychlab/visual_search'),
])
def test_level_names(fake_lab, name, level):
  assert create(name, is_test=name.endswith('_test'))[1].level == level


def test_dmlab30_names_match_the_dmlab30_package():
  dmlab30 = pytest.importorskip('dmlab30')
  names = set(dmlab30.LEVEL_MAPPING) | set(dmlab30.LEVEL_MAPPING.values())
  assert names == dmlab.DMLAB30_LEVELS
  assert len(dmlab.DMLAB30_LEVELS) == 32


def test_actions_and_repeats(fake_lab):
  env, lab = create(num_action_repeats=3)
  env.initial()
  for action in range(9):
    env.step(action)
  assert lab.steps == [(a, 3) for a in PAPER_ACTIONS]
  env.step(np.int32(4))
  assert lab.steps[-1] == (PAPER_ACTIONS[4], 3)
  for bad in (-1, 9, 2.5):
    with pytest.raises(ValueError, match='action'):
      env.step(bad)


def test_seeds_come_from_the_seeded_random_state(fake_lab):
  env, lab = create(seed=7)
  env.initial()
  for _ in range(2 * EPISODE_STEPS):
    env.step(0)
  random_state = np.random.RandomState(7)
  assert lab.reset_seeds == [random_state.randint(0, 2**31 - 1) for _ in range(3)]
  assert len(set(lab.reset_seeds)) == 3
  _, other = create(seed=8)
  assert other is not lab


def test_step_semantics(fake_lab):
  env, lab = create(num_action_repeats=4)
  first = env.initial()
  assert (first.reward, first.info, first.done) == (0, (0, 0), True)
  assert first.observation['instruction'] == 'find the apple'
  assert first.observation['frame'].shape == (72, 96, 3)
  outputs = [env.step(0) for _ in range(EPISODE_STEPS + 1)]
  assert [o.done for o in outputs] == [False, False, True, False]
  assert [tuple(o.info) for o in outputs] == [(1, 4), (3, 8), (6, 12), (4, 4)]
  assert [float(o.reward) for o in outputs] == [1, 2, 3, 4]
  # The done step shows the next episode, reset with a fresh seed.
  assert len(lab.reset_seeds) == 2
  assert outputs[2].observation['frame'][0, 0, 0] == 3


def test_bytes_instruction_is_decoded(fake_lab):
  env, lab = create()
  lab.instruction = 'go left'.encode()
  assert env.initial().observation['instruction'] == 'go left'


def test_close(fake_lab):
  env, lab = create()
  env.close()
  assert lab.closed


def test_level_cache(fake_lab, tmp_path):
  cache_dir = tmp_path / 'cache'
  _, lab = create(level_cache_dir=str(cache_dir))
  cache = lab.level_cache
  assert isinstance(cache, dmlab.LevelCache) and cache_dir.is_dir()
  compiled, fetched = tmp_path / 'compiled.pk3', tmp_path / 'fetched.pk3'
  compiled.write_bytes(b'map')
  assert not cache.fetch('key', str(fetched))
  cache.write('key', str(compiled))
  compiled.write_bytes(b'other map')
  cache.write('key', str(compiled))  # An existing entry stays as it is.
  assert cache.fetch('key', str(fetched))
  assert fetched.read_bytes() == b'map'
  assert os.listdir(cache_dir) == ['key']  # No temporary files left behind.
  assert (cache_dir / 'key').stat().st_mode & 0o777 == 0o644  # Readable by runs of other users.


def test_hold_out_levels_start_in_test_mode_only_as_deepmind_lab_has_it(fake_lab):
  create('rooms_collect_good_objects_test', is_test=True)
  with pytest.raises(RuntimeError, match='allowHoldOutLevels'):
    create('rooms_collect_good_objects_test', is_test=False)


def test_the_real_deepmind_lab_is_refused_in_a_process_with_tensorflow(monkeypatch):
  import tensorflow  # pylint: disable=import-outside-toplevel,unused-import
  real = types.ModuleType('deepmind_lab')
  real.__file__ = '/site-packages/deepmind_lab/__init__.py'
  monkeypatch.setitem(sys.modules, 'deepmind_lab', real)
  with pytest.raises(RuntimeError, match='environment process'):
    environments.create_environment('rooms_watermaze', seed=1)


def test_missing_deepmind_lab_names_the_docker_image_and_atari(monkeypatch):
  monkeypatch.setitem(sys.modules, 'deepmind_lab', None)  # Makes `import deepmind_lab` fail.
  with pytest.raises(ImportError) as raised:
    environments.create_environment('rooms_watermaze', seed=1)
  message = str(raised.value)
  assert 'docker build -t impala .' in message and 'Reproducing the paper' in message
  assert 'make install DMLAB_WHEEL=' in message
  assert '--level_name=atari/pong' in message
  # The spec needs no DeepMind Lab.
  assert environments.environment_spec('rooms_watermaze').num_actions == 9
