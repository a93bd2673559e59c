"""DeepMind Lab itself, through environments/dmlab.py and experiment.py: these need the real module.

`deepmind_lab` is built from source in the Docker image, whose build runs these with the rest of the
suite (`make test`). Wherever the module is missing they are skipped, and `pytest -ra` says why.
tests/test_environments_dmlab.py covers the binding against a stand-in module everywhere.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

deepmind_lab = pytest.importorskip(
    'deepmind_lab',
    reason='DeepMind Lab is not installed: these run in the Docker image (see README, Reproducing the paper)')

# pylint: disable=wrong-import-position
import environments
from dmlab30 import evaluation
from environments import dmlab

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVEL = 'explore_goal_locations_small'  # The level of the image's default command.
# DeepMind Lab's 7 action dimensions, in its order (docs/users/actions.md).
ACTION_NAMES = ['LOOK_LEFT_RIGHT_PIXELS_PER_FRAME', 'LOOK_DOWN_UP_PIXELS_PER_FRAME', 'STRAFE_LEFT_RIGHT',
                'MOVE_BACK_FORWARD', 'FIRE', 'JUMP', 'CROUCH']


@pytest.fixture(name='cache_dir', scope='module')
def fixture_cache_dir(tmp_path_factory):
  """One level cache for the module, so each map is compiled once."""
  return str(tmp_path_factory.mktemp('level_cache'))


def create(level, cache_dir, is_test=False, **settings):
  config = environments.EnvConfig(level_cache_dir=cache_dir, **settings)
  return environments.create_environment(level, seed=1, is_test=is_test, config=config)


def play(level, cache_dir, steps=3, **kwargs):
  """The first step and `steps` more of moving forward; the environment is closed after."""
  env = create(level, cache_dir, **kwargs)
  try:
    outputs = [env.initial()]
    outputs += [env.step(0) for _ in range(steps)]
    return outputs
  finally:
    env.close()


def test_lab_offers_the_observations_and_actions_the_binding_uses(cache_dir):
  config = environments.EnvConfig()
  lab = deepmind_lab.Lab(dmlab.level_path(LEVEL), list(dmlab.OBSERVATIONS),
                         config=dmlab.lab_config(config, is_test=False),
                         level_cache=dmlab.LevelCache(cache_dir))
  try:
    observations = {spec['name']: spec for spec in lab.observation_spec()}
    assert observations['RGB_INTERLEAVED']['shape'] == (config.height, config.width, 3)
    assert observations['RGB_INTERLEAVED']['dtype'] == np.uint8
    assert observations['INSTR']['dtype'] is str
    actions = lab.action_spec()
    assert [action['name'] for action in actions] == ACTION_NAMES
    for action in dmlab.ACTION_SET:  # The paper's 9 actions are all within DeepMind Lab's bounds.
      for value, spec in zip(action, actions):
        assert spec['min'] <= value <= spec['max'], (action, spec)
  finally:
    lab.close()


def test_every_action_steps_with_the_original_semantics(cache_dir):
  env = create(LEVEL, cache_dir)
  try:
    first = env.initial()
    assert first.done and first.reward == 0 and first.info.episode_step == 0
    frames = [first.observation['frame']]
    assert frames[0].shape == (72, 96, 3) and frames[0].dtype == np.uint8
    assert isinstance(first.observation['instruction'], str)
    for step, action in enumerate(range(len(dmlab.ACTION_SET)), start=1):
      output = env.step(action)
      assert not output.done  # Nine steps are far from the end of an episode.
      assert isinstance(output.reward, np.float32)
      assert output.info.episode_step == 4 * step  # Frames: 4 action repeats a step.
      assert output.observation['frame'].shape == (72, 96, 3)
      frames.append(output.observation['frame'])
    assert any(not np.array_equal(frames[0], frame) for frame in frames[1:])  # Moving changes the view.
  finally:
    env.close()


def test_an_episode_ends_and_the_next_one_starts_in_the_same_step(cache_dir):
  env = create(LEVEL, cache_dir)
  try:
    env.initial()
    for steps in range(1, 5001):
      output = env.step(0)
      if output.done:
        break
    else:
      pytest.fail(f'{LEVEL}: no episode ended within 5000 steps')
    assert output.info.episode_step == 4 * steps  # The finished episode's length, in frames.
    assert output.observation['frame'].shape == (72, 96, 3)  # The next episode's first frame.
    following = env.step(0)
    assert not following.done and following.info.episode_step == 4
  finally:
    env.close()


def test_language_levels_have_an_instruction(cache_dir):
  first = play('language_select_described_object', cache_dir, steps=0)[0]
  assert isinstance(first.observation['instruction'], str) and first.observation['instruction']


def test_hold_out_test_levels_play_in_test_mode_only(cache_dir):
  outputs = play('rooms_collect_good_objects_test', cache_dir, is_test=True)
  assert all(output.observation['frame'].shape == (72, 96, 3) for output in outputs)
  with pytest.raises(RuntimeError):  # DeepMind Lab refuses to train on its hold-out levels.
    play('rooms_collect_good_objects_test', cache_dir, is_test=False)


def test_psychlab_level_reads_the_dataset(cache_dir):
  dataset_path = os.environ.get('DMLAB_DATASET_PATH', '')
  if not os.path.isfile(os.path.join(dataset_path, '0001.png')):
    pytest.skip('The brady_konkle_oliva2008 dataset is not at $DMLAB_DATASET_PATH (the image has it).')
  outputs = play('psychlab_arbitrary_visuomotor_mapping', cache_dir, steps=20, dataset_path=dataset_path)
  assert all(output.observation['frame'].shape == (72, 96, 3) for output in outputs)


def test_experiment_trains_and_tests_on_deepmind_lab(tmp_path):
  """A few learner steps on a DeepMind Lab level, then one test episode, as the image's command does."""
  logdir = str(tmp_path / 'agent')
  common = [sys.executable, 'experiment.py', f'--level_name={LEVEL}', f'--logdir={logdir}',
            '--network=shallow', f'--dataset_path={os.environ.get("DMLAB_DATASET_PATH", "")}']
  train = common + ['--num_actors=2', '--batch_size=2', '--unroll_length=20',
                    '--total_environment_frames=320', '--summary_secs=1']
  subprocess.run(train, cwd=REPO, check=True, timeout=400)
  subprocess.run(common + ['--mode=test', '--test_num_episodes=1'], cwd=REPO, check=True, timeout=400)
  results = evaluation.read_results(os.path.join(logdir, 'evaluation.json'))
  assert [len(returns) for returns in results['episode_returns'].values()] == [1]
