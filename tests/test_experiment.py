"""experiment.py end to end: learning, checkpoints and resume, test mode, and refusing bad flags."""
import csv
import dataclasses
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import sonnet as snt
import tensorflow as tf
import tree

import configuration
from cue_environment import make_cue_environment, make_delayed_cue_environment
import environments
import experiment
from runtime import acting
from runtime import agents
from runtime import learner as learner_lib
from runtime import levels as levels_lib
from runtime import losses
from runtime import prefetch
from runtime import progress
from runtime import trajectories

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_config(logdir, **overrides):
  """The configuration experiment.py would run with these flags given."""
  return configuration.resolve(dict(logdir=str(logdir), **overrides))


def cue_config(logdir, **overrides):
  config = make_config(logdir, level_name='synthetic/dmlab', network='shallow', use_lstm=False,
                       num_actors=4, batch_size=8, unroll_length=10, entropy_cost=0.01,
                       learning_rate=0.002, epsilon=0.01, total_environment_frames=6_000,
                       num_action_repeats=1, summary_secs=5)
  return dataclasses.replace(config, level_name='test/cue', **overrides)


def episode_returns(logdir):
  with open(os.path.join(logdir, 'episodes.csv')) as f:
    return [float(row['episode_return']) for row in csv.DictReader(f)]


def test_impala_learns_the_cue_task_and_a_flipped_advantage_does_not(tmp_path, monkeypatch):
  experiment.train(cue_config(tmp_path / 'correct'), env_factory=make_cue_environment)
  learned = np.mean(episode_returns(tmp_path / 'correct')[-40:])
  assert learned > 8.5, f'mean return {learned:.2f} of 10 at the end; random play gets 3.3'
  assert (tmp_path / 'correct' / 'learning_curve.png').stat().st_size > 0

  original = losses.compute_policy_gradient_loss
  monkeypatch.setattr(losses, 'compute_policy_gradient_loss',
                      lambda log_probs, advantages: original(log_probs, -advantages))
  experiment.train(cue_config(tmp_path / 'flipped'), env_factory=make_cue_environment)
  broken = np.mean(episode_returns(tmp_path / 'flipped')[-40:])
  assert broken < 3.4, f'the flipped advantage still reached {broken:.2f}'


def test_impala_credits_a_delayed_reward_across_unrolls_and_not_without_discounting(tmp_path):
  # Each trial pays for its first action 4 steps later; unrolls of 3 steps make the credit cross
  # unroll boundaries, through the bootstrap value. With discounting 0 nothing reaches the choice.
  # Two environments per process here: training works the same with grouped environments.
  experiment.train(cue_config(tmp_path / 'discounted', unroll_length=3, total_environment_frames=8_000,
                              envs_per_process=2),
                   env_factory=make_delayed_cue_environment)
  learned = np.mean(episode_returns(tmp_path / 'discounted')[-40:])
  assert learned > 2.6, f'mean return {learned:.2f} of 3 at the end; random play gets 1'

  experiment.train(cue_config(tmp_path / 'undiscounted', unroll_length=3,
                              total_environment_frames=8_000, discounting=0.),
                   env_factory=make_delayed_cue_environment)
  myopic = np.mean(episode_returns(tmp_path / 'undiscounted')[-40:])
  assert myopic < 1.5, f'without discounting the delayed reward still reached {myopic:.2f}'


def test_pong_train_checkpoint_resume_and_test(tmp_path):
  # Three actors, two environments per process: groups of 2 and 1.
  config = make_config(tmp_path, level_name='atari/pong', num_actors=3, envs_per_process=2,
                       batch_size=2, total_environment_frames=3200, test_num_episodes=1)
  assert config.unroll_length == 20 and config.network == 'shallow'  # The paper's Atari values.
  assert experiment.train(config) == 3200
  assert tf.train.latest_checkpoint(tmp_path).endswith('ckpt-3200')

  # Same logdir, more frames: the counter and the learning-rate schedule continue from 3200.
  config = dataclasses.replace(config, total_environment_frames=6400)
  assert experiment.train(config) == 6400
  latest = tf.train.latest_checkpoint(tmp_path)
  assert latest.endswith('ckpt-6400')
  assert tf.train.load_variable(latest, 'num_env_frames/.ATTRIBUTES/VARIABLE_VALUE') == 6400

  results = experiment.test(dataclasses.replace(config, mode='test'))
  with open(tmp_path / 'evaluation.json') as f:
    written = json.load(f)
  assert written['episode_returns'] == results['episode_returns']
  assert len(written['episode_returns']['pong']) == 1
  assert -21 <= written['episode_returns']['pong'][0] <= 21
  assert written['metadata']['frames'] == 6400
  assert (tmp_path / 'evaluation.png').stat().st_size > 0


def test_prefetcher_ends_with_the_queue_even_with_a_batch_nobody_took():
  queue = tf.queue.FIFOQueue(10, [tf.int32], shapes=[[]])
  queue.enqueue_many([tf.range(3)])  # One batch waits in the prefetcher; it holds the next.
  prefetcher = prefetch.Prefetcher(queue, [np.int32(0)], 1, '/device:CPU:0')
  assert prefetcher.get(threading.Event()).batch.unrolls == [0]
  queue.close(cancel_pending_enqueues=True)
  closing = threading.Thread(target=prefetcher.close)  # Returns once the prefetch thread has ended.
  closing.start()
  closing.join(10)
  assert not closing.is_alive(), 'the prefetch thread still holds the queue'


def test_an_error_in_the_prefetch_thread_reaches_the_learner():
  queue = tf.queue.FIFOQueue(10, [tf.int32], shapes=[[]])
  queue.enqueue_many([tf.range(3)])
  # A structure the batch does not fit: the thread fails making its first batch.
  prefetcher = prefetch.Prefetcher(queue, [np.int32(0), np.int32(0)], 1, '/device:CPU:0')
  with pytest.raises(ValueError):
    prefetcher.get(threading.Event())  # Not a wait for ever.
  queue.close(cancel_pending_enqueues=True)
  prefetcher.close()


def random_batch(example, batch_size, num_actions, rng):
  """A batch of `batch_size` random values shaped as the Unroll `example`."""
  def fill(x):
    shape = (batch_size,) + x.shape
    if x.dtype == object:
      return np.full(shape, b'', object)
    if x.dtype == np.bool_:
      return rng.uniform(size=shape) < 0.1
    if x.dtype == np.int32:
      return rng.integers(0, num_actions, size=shape).astype(np.int32)
    if x.dtype == np.uint8:
      return rng.integers(0, 256, size=shape).astype(np.uint8)
    return rng.normal(size=shape).astype(x.dtype)
  return tree.map_structure(fill, example)


class _InProcess:
  """An EnvironmentGroup stepped here, with the processes' step_async / step_wait."""

  def __init__(self, group):
    self.group = group

  def initial(self):
    return self.group.initial()

  def step_async(self, actions):
    self._outputs = self.group.step(actions)

  def step_wait(self):
    return self._outputs


def test_learner_unroll_recomputes_the_behaviour_policy_of_the_actors_unrolls(tmp_path):
  # With the same weights, the learner's outputs at step t are the actor's at step t + 1 (computed
  # from the same observation, before the action they chose): V-trace's log rhos are then 0. An
  # off-by-one anywhere between actor and learner breaks this.
  config = cue_config(tmp_path, use_lstm=True)
  group = environments.EnvironmentGroup(make_cue_environment, [
      dict(level_name='test/cue', seed=seed, is_test=False, config=None) for seed in (1, 2, 3)])
  spec = group.spec
  agent = agents.build_agent(config, spec)
  inference = acting.make_inference(agent, spec, max_batch_size=3, timeout_ms=1.)
  try:
    actor = acting.Actor(['test/cue'] * 3, [0, 1, 2], [_InProcess(group)], inference,
                             agents.actor_initial_state(agent), agents.actor_first_output(agent))
    unrolls = [actor.unroll(7) for _ in range(3)]  # Episodes of 10 steps: some end mid-unroll.
  finally:
    inference.close()
  for unroll in unrolls:
    unroll = tree.map_structure(tf.convert_to_tensor, unroll)
    agent_outputs = trajectories.swap_time_and_batch(unroll.agent_outputs)
    outputs, _ = agent.unroll(agent_outputs.action,
                              trajectories.swap_time_and_batch(unroll.env_outputs),
                              unroll.agent_state)
    for name in ('policy_logits', 'baseline'):
      np.testing.assert_allclose(getattr(outputs, name)[:-1], getattr(agent_outputs, name)[1:],
                                 atol=1e-5)
    assert not np.allclose(outputs.policy_logits[1:], agent_outputs.policy_logits[1:], atol=1e-3)


def optimiser_state(optimizer):
  """Every slot variable of an optimiser, and Adam's step count."""
  if isinstance(optimizer, snt.optimizers.Adam):
    return [*optimizer.m, *optimizer.v, optimizer.step]
  return list(optimizer.ms)


@pytest.mark.parametrize('optimizer', ['rmsprop', 'adam'])
def test_checkpoint_restores_weights_optimiser_state_and_frames(tmp_path, optimizer):
  config = make_config(tmp_path, level_name='synthetic/dmlab', network='shallow', unroll_length=5,
                       batch_size=3, total_environment_frames=10_000, optimizer=optimizer)
  spec = environments.environment_spec('synthetic/dmlab')
  agent = agents.build_agent(config, spec)
  learner = learner_lib.Learner(agent, config)
  batch = random_batch(trajectories.unroll_example(agent, spec, config.unroll_length),
                        config.batch_size, spec.num_actions, np.random.default_rng(0))
  for _ in range(2):
    learner.train_step(prefetch.fresh_batch(batch))
  path = learner_lib.make_checkpoint(agent, learner).save(tmp_path / 'ckpt')

  restored_agent = agents.build_agent(dataclasses.replace(config, seed=7), spec)
  restored = learner_lib.Learner(restored_agent, config)
  learner_lib.make_checkpoint(restored_agent, restored).restore(path).assert_consumed()
  assert int(restored.num_env_frames.numpy()) == 2 * config.frames_per_step
  saved = [*agent.trainable_variables, *optimiser_state(learner.optimizer)]
  loaded = [*restored_agent.trainable_variables, *optimiser_state(restored.optimizer)]
  assert len(saved) == len(loaded) > len(agent.trainable_variables)
  for before, after in zip(saved, loaded):
    np.testing.assert_array_equal(before.numpy(), after.numpy())
  # The annealed learning rate follows the restored counter.
  restored.update_learning_rate()
  expected = config.learning_rate * (1 - 2 * config.frames_per_step / config.total_environment_frames)
  np.testing.assert_allclose(restored.learning_rate.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize('keep_hours, kept', [(0., 3), (1e-9, 5)])
def test_checkpoints_beyond_the_last_three_are_kept_when_asked(tmp_path, keep_hours, kept):
  config = make_config(tmp_path, level_name='synthetic/dmlab', network='shallow',
                       keep_checkpoint_every_n_hours=keep_hours)
  spec = environments.environment_spec('synthetic/dmlab')
  _, _, manager = learner_lib.learner_setup(config, spec, '/cpu:0')
  for number in range(1, 6):
    manager.save(checkpoint_number=number)
  on_disk = sorted(int(name[len('ckpt-'):-len('.index')]) for name in os.listdir(tmp_path)
                   if name.startswith('ckpt-') and name.endswith('.index'))
  assert on_disk == list(range(6 - kept, 6))


def test_optimiser_mean_square_starts_at_one_as_tf1_rmsprop(tmp_path):
  config = make_config(tmp_path, level_name='synthetic/dmlab', network='shallow')
  spec = environments.environment_spec('synthetic/dmlab')
  agent = agents.build_agent(config, spec)
  learner = learner_lib.Learner(agent, config)
  assert all(np.all(ms.numpy() == 1) for ms in learner.optimizer.ms)
  weights = [v.numpy() for v in agent.trainable_variables]
  assert all(np.array_equal(w, v.numpy()) for w, v in zip(weights, agent.trainable_variables))


def test_center_frames_flag_reaches_the_agent(tmp_path):
  spec = environments.environment_spec('synthetic/dmlab')
  for center_frames, expected in ((False, 1.), (True, .5)):
    config = make_config(tmp_path, level_name='synthetic/dmlab', network='shallow',
                         center_frames=center_frames)
    agent = agents.build_agent(config, spec)
    assert float(agent.torso_input(tf.constant(255, tf.uint8))) == expected


def test_noop_flags_reach_the_environments(tmp_path):
  config = make_config(tmp_path, level_name='atari/pong', train_noop_max=7, test_noop_max=3)
  assert (config.env_config.train_noop_max, config.env_config.noop_max) == (7, 3)
  assert make_config(tmp_path, level_name='atari/pong').env_config.train_noop_max == 0


def test_first_line_names_what_changes_how_fast_atari_learns_only_when_on(tmp_path):
  paper = experiment.describe(make_config(tmp_path, level_name='atari/pong'))
  assert 'entropy cost 0.01,' in paper
  assert not any(word in paper for word in ('centred', 'replay', 'no-op'))
  recipe = experiment.describe(make_config(tmp_path, level_name='atari/pong', center_frames=True,
                                           replay_proportion=.5, train_noop_max=30))
  assert 'centred frames, replay 0.5, 1-30 no-op starts, 4 actors' in recipe


def test_adams_first_update_moves_every_weight_by_the_learning_rate(tmp_path):
  # Bias-corrected Adam's first step is lr * g / (|g| + eps): a full lr for every weight with a
  # gradient. Had creating the slots counted as a step, the first update would be 0.74 lr.
  config = make_config(tmp_path, level_name='synthetic/dmlab', network='shallow', optimizer='adam',
                       learning_rate=1e-3, adam_epsilon=1e-12, gradient_clip_norm=0.)
  spec = environments.environment_spec('synthetic/dmlab')
  agent = agents.build_agent(config, spec)
  learner = learner_lib.Learner(agent, config)
  assert int(learner.optimizer.step.numpy()) == 0
  rng = np.random.default_rng(0)
  gradients = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in agent.trainable_variables]
  before = [v.numpy() for v in agent.trainable_variables]
  learner.apply_gradients(gradients)
  for weights, variable, gradient in zip(before, agent.trainable_variables, gradients):
    np.testing.assert_allclose(weights - variable.numpy(), 1e-3 * np.sign(gradient.numpy()),
                               rtol=1e-3, atol=1e-7)



def test_the_learner_counts_torso_units_that_fire_on_no_step_of_the_batch(tmp_path):
  config = make_config(tmp_path, level_name='synthetic/dmlab', network='shallow', unroll_length=5,
                       batch_size=3)
  spec = environments.environment_spec('synthetic/dmlab')
  agent = agents.build_agent(config, spec)
  learner = learner_lib.Learner(agent, config)
  unrolls = trajectories.time_major(random_batch(
      trajectories.unroll_example(agent, spec, config.unroll_length), config.batch_size,
      spec.num_actions, np.random.default_rng(0)))
  _, _, features = agent.unroll_with_features(unrolls.agent_outputs.action, unrolls.env_outputs,
                                              unrolls.agent_state)
  peaks = np.max(features.numpy(), axis=(0, 1))
  assert float(learner.loss(unrolls)[1]['silent_torso_units']) == np.sum(peaks <= 0)
  fc_bias = agent.torso._fc.b  # pylint: disable=protected-access
  fc_bias.assign(tf.tensor_scatter_nd_update(fc_bias, [[0], [7], [99]], [-1e6] * 3))  # Never fire.
  peaks[[0, 7, 99]] = 0.
  assert float(learner.loss(unrolls)[1]['silent_torso_units']) == np.sum(peaks <= 0)

@pytest.mark.parametrize('method,rewards,expected', [
    ('abs_one', [-3., -0.5, 0., 0.5, 3.], [-1., -0.5, 0., 0.5, 1.]),
    ('soft_asymmetric', [-5., 5.], [1.5 * np.tanh(-1.), 5 * np.tanh(1.)]),
    ('soft_asymmetric_paper', [-5., 5.], [0.3 * np.tanh(-5.), 5 * np.tanh(5.)]),
])
def test_reward_clipping(method, rewards, expected):
  np.testing.assert_allclose(losses.clip_rewards(tf.constant(rewards), method), expected,
                             rtol=1e-6)


@pytest.mark.parametrize('overrides,message', [
    (dict(num_actors=0), '--num_actors must be positive'),
    (dict(batch_size=-1), '--batch_size must be positive'),
    (dict(discounting=1.5), r'--discounting must be in \[0, 1\]'),
    (dict(entropy_cost=-0.1), '--entropy_cost must be >= 0'),
    (dict(envs_per_process=0), '--envs_per_process must be positive'),
    (dict(train_noop_max=-1), '--train_noop_max must be >= 0'),
    (dict(optimizer='adam', adam_epsilon=0.), '--adam_epsilon must be positive'),
    (dict(level_name='atari/no_such_game'), '--level_name'),
    (dict(learner_address='no-port'), '--learner_address must be host:port'),
    (dict(num_actor_tasks=9), r'--num_actor_tasks must be in \[1, --num_actors=4\]'),
    (dict(job_name='learner', task=1), '--task must be 0 for the learner'),
    (dict(job_name='actor', task=4), r'--task must be in \[0, --num_actor_tasks=4\)'),
    (dict(local_cluster=True, job_name='actor', task=0), '--local_cluster starts the tasks itself'),
    (dict(mode='test'), '--mode=test: no checkpoint'),
])
def test_bad_flags_are_refused(tmp_path, overrides, message):
  with pytest.raises(ValueError, match=message):
    make_config(tmp_path, **overrides)


def test_command_line_refuses_bad_flags_before_any_work(tmp_path):
  result = subprocess.run(
      [sys.executable, 'experiment.py', '--num_actors=0', f'--logdir={tmp_path}'],
      cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode != 0
  assert '--num_actors must be positive' in result.stderr
  assert not os.listdir(tmp_path)  # Nothing was started or written.


@pytest.mark.parametrize('suite', ['dmlab30', 'atari57'])
def test_running_human_normalized_score_needs_every_level(tmp_path, suite):
  # A folder for the psychlab dataset: without one, DMLab-30 is refused before any work.
  (tmp_path / levels_lib.DATASET_FIRST_FILE).touch()
  config = make_config(tmp_path, level_name=suite, num_actors=60, dataset_path=str(tmp_path))
  monitor = progress.Monitor(config, tf.summary.create_noop_writer())
  levels = sorted(set(levels_lib.actor_levels(config)))
  for level in levels[1:]:
    monitor._recent[level].append(1000.)
  assert monitor.human_normalized_score() is None  # One level has not finished an episode.
  monitor._recent[levels[0]].append(1000.)
  score = monitor.human_normalized_score()
  assert score is not None and score > 0
  monitor.close()
