"""DeepMind Lab itself, through environments/dmlab.py, environment processes and experiment.py.

These need the real `deepmind_lab` module: `make test DMLAB_WHEEL=path/to/deepmind_lab-*.whl` installs
it (CI passes ../shared/dmlab's wheel; the Docker image builds its own). Without it they are skipped,
and `pytest -ra` says why. tests/test_environments_dmlab.py covers the binding against a stand-in
everywhere.

DeepMind Lab crashes in a process that has loaded TensorFlow (as this one has), so every engine here
runs where the runtime runs it: in an environment process, or in a subprocess of its own.
"""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

if importlib.util.find_spec('deepmind_lab') is None:  # Not imported here: see above.
  pytest.skip('DeepMind Lab is not installed: make test DMLAB_WHEEL=path/to/wheel (README, '
              '"DeepMind Lab from a wheel")', allow_module_level=True)

# pylint: disable=wrong-import-position
import configuration
import environments
from dmlab30 import evaluation
from environments import dmlab

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVEL = 'explore_goal_locations_small'  # The original's default level.
# DeepMind Lab's 7 action dimensions, in its order (docs/users/actions.md).
ACTION_NAMES = ['LOOK_LEFT_RIGHT_PIXELS_PER_FRAME', 'LOOK_DOWN_UP_PIXELS_PER_FRAME', 'STRAFE_LEFT_RIGHT',
                'MOVE_BACK_FORWARD', 'FIRE', 'JUMP', 'CROUCH']
# The raw engine, in a subprocess: its specs, and how far each of the binding's 9 actions moves and
# turns the agent over 5 steps from the same start (DEBUG.POS.TRANS in map units, DEBUG.POS.ROT's yaw
# in degrees).
PROBE = """
import json, sys
import deepmind_lab
import numpy as np
from environments import dmlab, EnvConfig
config = EnvConfig(level_cache_dir=sys.argv[1])
lab = deepmind_lab.Lab(dmlab.level_path(sys.argv[2]),
                       list(dmlab.OBSERVATIONS) + ['DEBUG.POS.TRANS', 'DEBUG.POS.ROT'],
                       config=dmlab.lab_config(config, is_test=False),
                       level_cache=dmlab.LevelCache(config.level_cache_dir))
result = dict(observations={s['name']: [list(s['shape']), s['dtype'].__name__]
                            for s in lab.observation_spec()}, actions=lab.action_spec(), moves=[])
for action in dmlab.ACTION_SET:
  lab.reset(seed=3)
  before = lab.observations()
  for _ in range(5):
    lab.step(np.array(action, np.intc), num_steps=4)
  after = lab.observations()
  result['moves'].append(dict(
      yaw=float(before['DEBUG.POS.ROT'][1]),
      moved=(after['DEBUG.POS.TRANS'] - before['DEBUG.POS.TRANS'])[:2].tolist(),
      turned=float((after['DEBUG.POS.ROT'][1] - before['DEBUG.POS.ROT'][1] + 180) % 360 - 180)))
lab.close()
print(json.dumps(result))
"""


@pytest.fixture(name='cache_dir', scope='module')
def fixture_cache_dir(tmp_path_factory):
  """One level cache for the module, so each map is compiled once."""
  return str(tmp_path_factory.mktemp('level_cache'))


def process(level, cache_dir, is_test=False, seed=1, **settings):
  config = environments.EnvConfig(level_cache_dir=cache_dir, **settings)
  return environments.EnvironmentProcess(environments.create_environment, level_name=level,
                                         seed=seed, is_test=is_test, config=config)


@pytest.fixture(name='probe', scope='module')
def fixture_probe(cache_dir):
  done = subprocess.run([sys.executable, '-c', PROBE, cache_dir, LEVEL], cwd=REPO, check=True,
                        capture_output=True, text=True, timeout=300)
  return json.loads(done.stdout.strip().splitlines()[-1])


def test_lab_offers_the_observations_and_actions_the_binding_uses(probe):
  assert probe['observations']['RGB_INTERLEAVED'] == [[72, 96, 3], 'uint8']
  assert probe['observations']['INSTR'] == [[], 'str']
  assert [action['name'] for action in probe['actions']] == ACTION_NAMES
  for action in dmlab.ACTION_SET:  # The paper's 9 actions are all within DeepMind Lab's bounds.
    for value, spec in zip(action, probe['actions']):
      assert spec['min'] <= value <= spec['max'], (action, spec)


def test_the_nine_actions_move_the_agent_as_named(probe):
  moves = probe['moves']
  yaw = np.radians(moves[0]['yaw'])
  ahead, left = np.array([np.cos(yaw), np.sin(yaw)]), np.array([-np.sin(yaw), np.cos(yaw)])

  def moves_towards(move, direction):  # Mostly along `direction` (a wall may deflect a little).
    along, across = np.dot(move['moved'], direction), np.dot(move['moved'], direction[::-1] * [-1, 1])
    return along > 30 and abs(along) > 2 * abs(across)

  forward, backward, strafe_left, strafe_right, look_left, look_right, left_ahead, right_ahead, fire = moves
  assert moves_towards(forward, ahead) and moves_towards(backward, -ahead)
  assert moves_towards(strafe_left, left) and moves_towards(strafe_right, -left)
  for still in (forward, backward, strafe_left, strafe_right, fire):
    assert still['turned'] == 0
  assert look_left['turned'] > 20 and look_right['turned'] < -20  # Yaw grows turning left.
  assert np.hypot(*look_left['moved']) < 1 and np.hypot(*look_right['moved']) < 1
  assert left_ahead['turned'] == look_left['turned'] and right_ahead['turned'] == look_right['turned']
  assert np.hypot(*left_ahead['moved']) > 30 and np.hypot(*right_ahead['moved']) > 30
  assert np.hypot(*fire['moved']) < 1


def test_the_binding_gives_what_it_promises_with_the_originals_episode_semantics(cache_dir):
  with process(LEVEL, cache_dir) as env:
    assert env.spec == dmlab.environment_spec(environments.EnvConfig())
    first = env.initial()
    assert first.done and first.reward == 0 and tuple(first.info) == (0, 0)
    assert first.observation['frame'].shape == (72, 96, 3)
    assert first.observation['frame'].dtype == np.uint8
    assert isinstance(first.observation['instruction'], str)
    total = 0.
    for steps in range(1, 5001):
      output = env.step(steps % len(dmlab.ACTION_SET))
      assert isinstance(output.reward, np.float32)
      if output.done:
        break
      total += output.reward
      assert output.info.episode_step == 4 * steps  # Frames: 4 action repeats a step.
    else:
      pytest.fail(f'{LEVEL}: no episode ended within 5000 steps')
    # The finished episode's return and length arrive with the next episode's first frame.
    assert output.info.episode_step == 4 * steps and output.info.episode_return == total + output.reward
    assert output.observation['frame'].shape == (72, 96, 3)
    following = env.step(0)
    assert not following.done and following.info.episode_step == 4


def test_the_same_seed_gives_the_same_first_frames(cache_dir):
  config = environments.EnvConfig(level_cache_dir=cache_dir)
  kwargs_list = [dict(level_name=LEVEL, seed=seed, is_test=False, config=config) for seed in (7, 7, 8)]
  with environments.EnvironmentProcess(environments.EnvironmentGroup,
                                       factory=environments.create_environment,
                                       kwargs_list=kwargs_list) as group:
    frames = [group.initial().observation['frame']]
    frames += [group.step([0, 0, 0]).observation['frame'] for _ in range(3)]
  frames = np.stack(frames, axis=1)  # [environment, step, ...]
  np.testing.assert_array_equal(frames[0], frames[1])
  assert not np.array_equal(frames[0], frames[2])


def test_hold_out_levels_play_in_test_mode_only(cache_dir):
  level = 'rooms_collect_good_objects_test'
  with process(level, cache_dir, is_test=True) as env:  # allowHoldOutLevels, the fixed mixerSeed.
    outputs = [env.initial()] + [env.step(0) for _ in range(3)]
  assert all(output.observation['frame'].shape == (72, 96, 3) for output in outputs)
  with process(level, cache_dir, is_test=False) as env:
    with pytest.raises(RuntimeError, match='allowHoldOutLevels'):
      env.initial()


def test_an_instruction_level_reaches_the_instruction_encoder(cache_dir):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from networks import instruction  # pylint: disable=import-outside-toplevel
  with process('language_select_described_object', cache_dir) as env:
    text = env.initial().observation['instruction']
  assert isinstance(text, str) and text.split(), text  # e.g. 'cake': the object to pick.
  encoder = instruction.InstructionEncoder()
  encoded = encoder(tf.constant([text, ''])).numpy()
  assert encoded.shape == (2, instruction.LSTM_SIZE)
  assert np.abs(encoded[0]).max() > 0 and not encoded[1].any()  # The empty instruction encodes to 0.


def test_a_level_that_needs_the_psychlab_dataset_is_refused_before_training(cache_dir):
  level = 'psychlab_arbitrary_visuomotor_mapping'
  with pytest.raises(ValueError, match='--dataset_path'):
    configuration.build(level_name=level)
  with pytest.raises(ValueError, match='--exclude_levels=psychlab_arbitrary_visuomotor_mapping,'
                     'psychlab_continuous_recognition'):
    configuration.build(level_name='dmlab30', num_actors=30)
  # The refusal stands in for the engine's own, which comes only once the level starts.
  with process(level, cache_dir) as env:
    with pytest.raises(RuntimeError, match='brady_konkle_oliva2008'):
      env.initial()


def test_the_psychlab_dataset_levels_read_the_dataset(cache_dir):
  dataset_path = os.environ.get('DMLAB_DATASET_PATH', '')
  if not os.path.isfile(os.path.join(dataset_path, '0001.png')):
    pytest.skip('The brady_konkle_oliva2008 stimuli are not at $DMLAB_DATASET_PATH (an image built '
                'with BRADY_KONKLE_OLIVA2008_URL, its default, has them).')
  with process('psychlab_arbitrary_visuomotor_mapping', cache_dir, dataset_path=dataset_path) as env:
    outputs = [env.initial()] + [env.step(0) for _ in range(20)]
  assert all(output.observation['frame'].shape == (72, 96, 3) for output in outputs)


def test_a_process_that_dies_under_a_real_level_is_replaced_and_play_goes_on(cache_dir):
  with process(LEVEL, cache_dir) as env:
    env.initial()
    env.step(0)
    old_pid = env.pid
    os.kill(old_pid, 9)
    output = env.step(0)
    assert output.done and tuple(output.info) == (0, 0) and env.restarts == 1 and env.pid != old_pid
    assert [env.step(0).info.episode_step for _ in range(2)] == [4, 8]


def test_a_level_that_cannot_start_stops_with_the_engines_message(cache_dir):
  level = 'natlab_fixed_large_map'  # Its maps are not in ../shared/dmlab's wheel.
  with process(level, cache_dir) as env:
    if _has_natlab_maps():
      assert env.initial().observation['frame'].shape == (72, 96, 3)  # A build with every asset.
      return
    with pytest.raises(environments.EnvironmentProcessError, match="Didn't find map") as raised:
      env.initial()
    assert env.restarts == 0
    assert str(raised.value).startswith('natlab_fixed_large_map (seed 1): the environment process died')


def _has_natlab_maps():
  # Found, not imported: this process has TensorFlow.
  package = importlib.util.find_spec('deepmind_lab').submodule_search_locations[0]
  return os.path.exists(os.path.join(package, 'baselab', 'maps', 'natlab_forage_ltm_day.bsp'))


def test_experiment_trains_and_tests_on_deepmind_lab(tmp_path):
  """The issue's command: 4,000 frames of training on the real level, then one test episode."""
  logdir = str(tmp_path / 'agent')
  common = [sys.executable, 'experiment.py', f'--level_name={LEVEL}', f'--logdir={logdir}']
  train = common + ['--num_actors=2', '--batch_size=2', '--unroll_length=20',
                    '--total_environment_frames=4000']
  subprocess.run(train, cwd=REPO, check=True, timeout=400)
  subprocess.run(common + ['--mode=test', '--test_num_episodes=1'], cwd=REPO, check=True, timeout=400)
  results = evaluation.read_results(os.path.join(logdir, 'evaluation.json'))
  assert [len(returns) for returns in results['episode_returns'].values()] == [1]
