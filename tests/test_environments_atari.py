"""Atari through ale-py: real games, checked against screens read from a second, replayed ALE."""
import cv2
import numpy as np
import pytest
from ale_py import ALEInterface, LoggerMode, roms

import environments

ALEInterface.setLoggerMode(LoggerMode.Error)


class Replay:
  """A second emulator that repeats the environment's actions frame by frame: the test's reference.

  Sticky actions are off, so the same seed and actions give the same game.
  """

  def __init__(self, game, seed, full_action_space=False):
    self.ale = ALEInterface()
    self.ale.setInt('random_seed', seed)
    self.ale.setFloat('repeat_action_probability', 0.)
    self.ale.loadROM(roms.get_rom_path(game))
    self.actions = self.ale.getLegalActionSet() if full_action_space else self.ale.getMinimalActionSet()

  def screen(self):
    return self.ale.getScreenGrayscale()

  def step(self, action, repeats=4):
    """Returns the summed reward and the grayscale screens of the frames played."""
    reward, screens = 0, []
    for _ in range(repeats):
      reward += self.ale.act(self.actions[action])
      screens.append(self.screen())
      if self.ale.game_over():
        break
    return reward, screens


def resize(screen):
  return cv2.resize(screen, (84, 84), interpolation=cv2.INTER_AREA)


def expected_frame(screens):
  return resize(np.maximum(screens[-2], screens[-1]))


def random_actions(num_actions, count, seed=0):
  return np.random.RandomState(seed).randint(num_actions, size=count)


def test_pong_shapes_dtypes_and_spec():
  config = environments.EnvConfig()
  env = environments.create_environment('atari/pong', seed=1, config=config)
  assert env.spec == environments.environment_spec('atari/pong', config)
  assert env.spec == environments.EnvSpec((84, 84, 4), False, 6, 4)
  first = env.initial()
  assert first.done is True and first.reward == 0 and first.reward.dtype == np.float32
  assert first.info == (0, 0)
  assert set(first.observation) == {'frame'}
  assert first.observation['frame'].shape == (84, 84, 4)
  assert first.observation['frame'].dtype == np.uint8
  step = env.step(2)
  assert step.done is False and step.reward.dtype == np.float32
  assert step.info.episode_return.dtype == np.float32 and step.info.episode_step.dtype == np.int32
  assert step.info.episode_step == 4


def test_pong_frames_are_max_pooled_stacked_and_rewards_raw():
  """Every frame, stack slot and reward against the replayed emulator's own screens and rewards."""
  env = environments.create_environment('atari/pong', seed=3)
  replay = Replay('pong', seed=3)
  first = env.initial().observation['frame']
  replay.ale.reset_game()
  processed = [resize(replay.screen())] * 4  # An episode starts with its first frame four times.
  np.testing.assert_array_equal(first, np.stack(processed, axis=-1))
  rewards = []
  for action in random_actions(6, 400):
    output = env.step(action)
    reward, screens = replay.step(action)
    processed.append(expected_frame(screens))
    assert output.reward == reward
    assert not output.done  # Pong has no lives and a game lasts longer than this.
    np.testing.assert_array_equal(output.observation['frame'], np.stack(processed[-4:], axis=-1))
    rewards.append(reward)
  assert output.info.episode_return == sum(rewards)
  assert output.info.episode_step == 400 * 4
  assert set(rewards) <= {-1, 0, 1} and any(rewards)


def test_pooling_is_not_a_plain_copy_of_the_last_frame():
  # Pong draws its objects on every frame, but the pooled frame must differ from the last screen's
  # somewhere over a game's worth of steps (the ball moves between the two frames).
  env = environments.create_environment('atari/pong', seed=0)
  replay = Replay('pong', seed=0)
  env.initial()
  replay.ale.reset_game()
  differences = 0
  for action in random_actions(6, 200):
    frame = env.step(action).observation['frame'][..., -1]
    _, screens = replay.step(action)
    differences += not np.array_equal(frame, resize(screens[-1]))
  assert differences > 0


def test_space_invaders_rewards_are_not_clipped():
  env = environments.create_environment('atari/space_invaders', seed=0)
  replay = Replay('space_invaders', seed=0)
  env.initial()
  replay.ale.reset_game()
  rewards = []
  for action in random_actions(env.spec.num_actions, 300):
    output = env.step(action)
    reward, _ = replay.step(action)
    assert output.reward == reward
    rewards.append(reward)
  assert max(rewards) > 1


@pytest.mark.parametrize('is_test', [False, True])
def test_breakout_life_loss_ends_training_episodes_only(is_test):
  config = environments.EnvConfig(noop_max=0)  # No no-ops: the replay stays in step in test mode.
  env = environments.create_environment('atari/breakout', seed=0, is_test=is_test, config=config)
  replay = Replay('breakout', seed=0)
  env.initial()
  replay.ale.reset_game()
  lives = replay.ale.lives()
  episode_return = episode_frames = 0
  life_loss_episodes = 0
  for action in random_actions(env.spec.num_actions, 2000):
    output = env.step(action)
    reward, screens = replay.step(action)
    episode_return += reward
    episode_frames += 4
    game_over = replay.ale.game_over()
    life_lost = replay.ale.lives() < lives
    lives = replay.ale.lives()
    assert output.done == (game_over or (life_lost and not is_test))
    if output.done:
      assert output.info == (episode_return, episode_frames)
      episode_return = episode_frames = 0
    if game_over:
      break
    if output.done:
      # The game goes on from where it is: the next episode starts with the current frame.
      life_loss_episodes += 1
      np.testing.assert_array_equal(output.observation['frame'],
                                    np.stack([expected_frame(screens)] * 4, axis=-1))
  assert game_over
  assert life_loss_episodes == (0 if is_test else 4)  # Breakout has 5 lives.
  # After game over the environment starts a new game.
  assert env.step(0).info.episode_step == 4


def test_evaluation_starts_with_random_noops():
  env = environments.create_environment('atari/pong', seed=5, is_test=True,
                                        config=environments.EnvConfig(noop_max=30))
  noops = []
  for _ in range(12):
    env.initial()
    noops.append(env._ale.getEpisodeFrameNumber())  # pylint: disable=protected-access
  assert all(1 <= n <= 30 for n in noops)
  assert len(set(noops)) > 1
  training = environments.create_environment('atari/pong', seed=5, is_test=False)
  training.initial()
  assert training._ale.getEpisodeFrameNumber() == 0  # pylint: disable=protected-access


def test_training_games_start_with_random_noops_when_asked():
  config = environments.EnvConfig(noop_max=0, train_noop_max=7)
  training = environments.create_environment('atari/pong', seed=5, is_test=False, config=config)
  noops = []
  for _ in range(12):
    training.initial()
    noops.append(training._ale.getEpisodeFrameNumber())  # pylint: disable=protected-access
  assert all(1 <= n <= 7 for n in noops)
  assert {n % 2 for n in noops} == {0, 1}  # Both phases of the frame count.
  test = environments.create_environment('atari/pong', seed=5, is_test=True, config=config)
  test.initial()
  assert test._ale.getEpisodeFrameNumber() == 0  # pylint: disable=protected-access


@pytest.mark.parametrize('is_test', [False, True])
def test_episode_cap(is_test):
  config = environments.EnvConfig(max_episode_frames=200, noop_max=0)
  env = environments.create_environment('atari/pong', seed=0, is_test=is_test, config=config)
  env.initial()
  outputs = [env.step(0) for _ in range(60)]
  assert [i for i, output in enumerate(outputs) if output.done] == [49]
  assert outputs[49].info.episode_step == 200
  assert outputs[50].info.episode_step == 4  # A fresh game.


def test_full_action_space():
  config = environments.EnvConfig(atari_full_action_space=True)
  assert environments.environment_spec('atari/pong', config).num_actions == 18
  env = environments.create_environment('atari/pong', seed=0, config=config)
  env.initial()
  assert env.step(17).info.episode_step == 4
  with pytest.raises(ValueError, match='action'):
    env.step(18)


@pytest.mark.parametrize('action', [-1, 6, 1.5])
def test_invalid_action(action):
  env = environments.create_environment('atari/pong', seed=0)
  env.initial()
  with pytest.raises(ValueError, match='action'):
    env.step(action)


def test_numpy_integer_action():
  env = environments.create_environment('atari/pong', seed=0)
  env.initial()
  assert env.step(np.int64(3)).info.episode_step == 4


def test_unknown_game():
  with pytest.raises(ValueError, match='get_all_rom_ids'):
    environments.create_environment('atari/pongg', seed=0)
  with pytest.raises(ValueError, match='pong'):  # A close match is suggested.
    environments.environment_spec('atari/pongg')


def test_same_seed_same_game():
  outputs = []
  for _ in range(2):
    env = environments.create_environment('atari/pong', seed=7, is_test=True)
    env.initial()
    outputs.append([env.step(a).observation['frame'] for a in random_actions(6, 30)])
  for a, b in zip(*outputs):
    np.testing.assert_array_equal(a, b)
