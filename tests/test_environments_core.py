"""Configuration, step semantics and episode accounting, the synthetic level, and imports."""
import dataclasses
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import environments
from environments import base, synthetic


class ScriptedEnvironment(base.Environment):
  """Plays the given episodes (lists of rewards) in turn; observations count episodes and steps."""

  def __init__(self, episodes, num_action_repeats=4):
    self.spec = environments.EnvSpec((1, 1, 1), False, 2, num_action_repeats)
    self._episodes = episodes
    self._episode = -1

  def _begin_episode(self, first):
    self._episode += 1
    self._step = 0
    return self._observation()

  def _act(self, action):
    rewards = self._episodes[self._episode % len(self._episodes)]
    self._step += 1
    return rewards[self._step - 1], self._step == len(rewards)

  def _observation(self):
    return {'episode': self._episode, 'step': self._step}


def test_step_semantics_and_accounting():
  env = ScriptedEnvironment([[1., 2., 3.], [.5], [-1., 0.]])
  first = env.initial()
  assert (first.reward, first.info, first.done, first.observation) == (
      0, (0, 0), True, {'episode': 0, 'step': 0})
  expected = [
      # reward, (return, length in frames), done, observation
      (1., (1., 4), False, {'episode': 0, 'step': 1}),
      (2., (3., 8), False, {'episode': 0, 'step': 2}),
      (3., (6., 12), True, {'episode': 1, 'step': 0}),  # The next episode's first observation.
      (.5, (.5, 4), True, {'episode': 2, 'step': 0}),
      (-1., (-1., 4), False, {'episode': 2, 'step': 1}),
      (0., (-1., 8), True, {'episode': 3, 'step': 0}),
      (1., (1., 4), False, {'episode': 3, 'step': 1}),
  ]
  for reward, info, done, observation in expected:
    output = env.step(0)
    assert (output.reward, output.info, output.done, output.observation) == (
        reward, info, done, observation)
  assert isinstance(output.reward, np.float32) and isinstance(output.done, bool)
  assert isinstance(output.info.episode_return, np.float32)
  assert isinstance(output.info.episode_step, np.int32)
  # initial() starts afresh, whatever the running episode.
  assert env.initial().info == (0, 0)
  assert env.step(0).info == (.5, 4)  # Episode 4 plays the second script, [.5].


@settings(max_examples=30, deadline=None)
@given(episodes=st.lists(st.lists(st.integers(-5, 5), min_size=1, max_size=6), min_size=1,
                         max_size=5),
       repeats=st.integers(1, 8))
def test_done_steps_report_each_finished_episode(episodes, repeats):
  env = ScriptedEnvironment(episodes, num_action_repeats=repeats)
  env.initial()
  finished = []
  for _ in range(sum(map(len, episodes))):
    output = env.step(0)
    if output.done:
      finished.append(tuple(output.info))
  assert finished == [(sum(e), len(e) * repeats) for e in episodes]


@pytest.mark.parametrize('field, value', [
    ('width', 0), ('height', -3), ('num_action_repeats', 0), ('max_episode_frames', 0),
    ('width', 1.5), ('height', True), ('noop_max', -1), ('noop_max', 2.), ('train_noop_max', -1),
    ('train_noop_max', True), ('dataset_path', None),
    ('level_cache_dir', 3), ('atari_full_action_space', 'yes'),
])
def test_config_rejects_bad_values(field, value):
  with pytest.raises(ValueError, match=f'EnvConfig.{field}'):
    environments.EnvConfig(**{field: value})


def test_config_defaults_and_frozen():
  config = environments.EnvConfig()
  assert (config.width, config.height, config.num_action_repeats, config.dataset_path,
          config.level_cache_dir, config.atari_full_action_space, config.max_episode_frames,
          config.noop_max, config.train_noop_max) == (96, 72, 4, '', None, False, 108000, 30, 0)
  with pytest.raises(dataclasses.FrozenInstanceError):
    config.width = 10


@pytest.mark.parametrize('seed', [-1, 2**31, 1.0, True, None])
def test_seed_is_checked(seed):
  with pytest.raises(ValueError, match='seed'):
    environments.create_environment('synthetic/dmlab', seed=seed)


def test_synthetic_has_dmlab_shapes():
  config = environments.EnvConfig()
  env = environments.create_environment('synthetic/dmlab', seed=1, config=config)
  assert env.spec == environments.environment_spec('synthetic/dmlab', config)
  assert env.spec == environments.EnvSpec((72, 96, 3), True, 9, 4)
  observation = env.initial().observation
  assert observation['frame'].shape == (72, 96, 3) and observation['frame'].dtype == np.uint8
  assert isinstance(observation['instruction'], str) and observation['instruction']
  assert not observation['frame'].flags.writeable
  small = environments.create_environment(
      'synthetic/dmlab', seed=1, config=environments.EnvConfig(width=8, height=6))
  assert small.initial().observation['frame'].shape == (6, 8, 3)
  with pytest.raises(ValueError, match='action'):
    env.step(9)


def play_synthetic(seed, actions):
  env = environments.create_environment('synthetic/dmlab', seed=seed)
  return [env.initial()] + [env.step(a) for a in actions]


def test_synthetic_is_deterministic_and_fixed_length():
  actions = np.random.RandomState(0).randint(9, size=2 * synthetic.EPISODE_STEPS + 5)
  a, b, c = play_synthetic(1, actions), play_synthetic(1, actions), play_synthetic(2, actions)
  for x, y in zip(a, b):
    assert (x.reward, x.info, x.done) == (y.reward, y.info, y.done)
    np.testing.assert_array_equal(x.observation['frame'], y.observation['frame'])
  assert any(not np.array_equal(x.observation['frame'], z.observation['frame'])
             for x, z in zip(a, c))
  done_steps = [i for i, output in enumerate(a) if output.done]
  assert done_steps == [0, synthetic.EPISODE_STEPS, 2 * synthetic.EPISODE_STEPS]
  assert a[synthetic.EPISODE_STEPS].info.episode_step == synthetic.EPISODE_STEPS * 4


def test_synthetic_rewards_one_action_per_frame():
  actions = np.random.RandomState(1).randint(9, size=2000)
  outputs = play_synthetic(3, actions)
  rewarded = {}  # frame bytes -> actions that earned a reward with that frame shown.
  for before, action, after in zip(outputs, actions, outputs[1:]):
    assert after.reward in (0, 1)
    if after.reward:
      rewarded.setdefault(before.observation['frame'].tobytes(), set()).add(int(action))
  assert rewarded and all(len(a) == 1 for a in rewarded.values())


def test_package_imports_neither_tensorflow_nor_atari_libraries_needlessly():
  code = ('import sys, environments, environments.process, environments.dmlab; '
          "environments.create_environment('synthetic/dmlab', seed=1).initial(); "
          "print(sorted(m for m in ('tensorflow', 'cv2', 'ale_py') if m in sys.modules)); "
          'import environments.atari; '
          "print('tensorflow' in sys.modules)")
  repository = pathlib.Path(environments.__file__).parents[1]
  lines = subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, text=True,
                         cwd=repository).stdout.split('\n')
  assert lines[:2] == ['[]', 'False']
