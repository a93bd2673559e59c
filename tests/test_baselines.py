"""The baselines (--agent): A3C, batched A2C and the asynchronous value-based methods learn the cue
task and deliberately broken variants do not; their targets against plain NumPy; their flags."""
import csv
import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf

from baselines import asynchronous
from baselines import q_learning
from baselines import settings as baseline_settings
import configuration
from cue_environment import make_cue_environment
import experiment
from runtime import agents
from runtime import losses
from runtime import progress
from runtime import trajectories

def baseline_config(logdir, agent, **overrides):
  """The cue task (10 steps an episode, 1 for the cued action) for 4 actors; batch size and threads
  are the agent's own."""
  flag_values = dict(level_name='synthetic/dmlab', network='shallow', use_lstm=False, num_actors=4,
                     unroll_length=5, entropy_cost=0.01, learning_rate=0.002, epsilon=0.01,
                     total_environment_frames=6_000, num_action_repeats=1, summary_secs=5,
                     target_update_frames=500, exploration_anneal_frames=2_000)
  flag_values.update(overrides)
  config = configuration.build(logdir=str(logdir), agent=agent, **flag_values)
  return dataclasses.replace(config, level_name='test/cue')


def final_training_return(logdir):
  with open(os.path.join(logdir, 'episodes.csv')) as f:
    returns = [float(row['episode_return']) for row in csv.DictReader(f)]
  return np.mean(returns[-40:])


def flip_advantages(monkeypatch):
  original = losses.compute_policy_gradient_loss
  monkeypatch.setattr(losses, 'compute_policy_gradient_loss',
                      lambda log_probs, advantages: original(log_probs, -advantages))


# --- Actor-critic: A3C and the batched A2C variants --------------------------------------------------

A2C_VARIANTS = [dict(a2c_sync='step'), dict(a2c_sync='trajectory', dynamic_batching=False),
                dict(a2c_sync='trajectory', dynamic_batching=True)]


@pytest.mark.parametrize('agent,variant', [('a3c', {})] + [('a2c', v) for v in A2C_VARIANTS])
def test_actor_critic_baselines_learn_the_cue_task(tmp_path, agent, variant):
  stats = {}
  experiment.train(baseline_config(tmp_path, agent, **variant), env_factory=make_cue_environment,
                   stats=stats)
  learned = final_training_return(tmp_path)
  assert learned > 8.5, f'{agent} {variant}: mean return {learned:.2f} of 10; random play gets 3.3'
  assert stats['frames'] >= 6_000


@pytest.mark.parametrize('agent', ['a3c', 'a2c'])
def test_actor_critic_baselines_with_a_flipped_advantage_do_not(tmp_path, monkeypatch, agent):
  flip_advantages(monkeypatch)
  experiment.train(baseline_config(tmp_path, agent), env_factory=make_cue_environment)
  broken = final_training_return(tmp_path)
  assert broken < 3.4, f'{agent} with the advantage flipped still reached {broken:.2f}'


@pytest.mark.parametrize('agent,variant,on_policy', [
    ('a2c', dict(a2c_sync='step'), True),
    ('a2c', dict(a2c_sync='trajectory'), True),
    ('impala', dict(batch_size=2), False)])
def test_a2c_trains_on_policy_and_impala_does_not(tmp_path, monkeypatch, agent, variant, on_policy):
  # A2C's actors wait for the update after each unroll: the behaviour policy is the learner's, so
  # every log importance weight is 0. IMPALA's actors run on while the learner trains: some lag.
  seen = []
  original = progress.Monitor.report
  monkeypatch.setattr(progress.Monitor, 'report', lambda self, frames, steps, terms, **kwargs: (
      seen.append(float(terms['max_abs_log_rho'])), original(self, frames, steps, terms, **kwargs)))
  experiment.train(baseline_config(tmp_path, agent, total_environment_frames=3_000, summary_secs=1,
                                   **variant), env_factory=make_cue_environment)
  assert seen
  if on_policy:
    assert max(seen) < 1e-4, f'{variant}: log importance weights up to {max(seen):.3g}'
  else:
    assert max(seen) > 1e-3, 'IMPALA showed no policy lag at all'


def test_a3c_threads_sample_their_actions_independently():
  config = baseline_config('/tmp/unused', 'a3c')
  spec = make_cue_environment('test/cue', 0, False, None).spec
  inputs = (np.zeros(1, np.int32),
            trajectories.example_env_output(spec)._replace(info=())._replace(
                observation={'frame': np.zeros((1,) + spec.frame_shape, np.uint8)},
                reward=np.zeros(1, np.float32), done=np.ones(1, bool)), ())
  samples = []
  for index in range(2):
    agent = agents.build_agent(config, spec)  # The same weights for both.
    inference = asynchronous.thread_inference(agent, spec, config.seed, index)
    samples.append(np.array([inference(inputs)[0].action[0] for _ in range(300)]))
  for shift in range(4):  # Not the same stream, nor one stream shifted by a few draws.
    agreement = np.mean(samples[0][shift:] == samples[1][:len(samples[1]) - shift])
    assert agreement < 0.6, f'threads 0 and 1 agree on {agreement:.0%} of actions at shift {shift}'


# --- The asynchronous value-based methods ------------------------------------------------------------

def evaluate(config):
  """Test mode's mean return (epsilon-greedy with TEST_EPSILON) over 20 episodes."""
  config = dataclasses.replace(config, mode='test', test_num_episodes=20)
  results = experiment.test(config, env_factory=make_cue_environment)
  return np.mean(results['episode_returns']['test/cue'])


@pytest.mark.parametrize('method', baseline_settings.Q_AGENTS)
def test_value_based_methods_learn_the_cue_task(tmp_path, method):
  # 10k frames, not the default 6k: under a loaded test run one of the asynchronous threads' schedules
  # once left one-step Sarsa at 6.35 after 6k frames.
  config = baseline_config(tmp_path, method, total_environment_frames=10_000)
  experiment.train(config, env_factory=make_cue_environment)
  learned = evaluate(config)
  assert learned > 8.5, f'{method}: test return {learned:.2f} of 10; random play gets 3.3'


@pytest.mark.parametrize('method', baseline_settings.Q_AGENTS)
def test_value_based_methods_chasing_negated_rewards_do_not(tmp_path, monkeypatch, method):
  original = losses.clip_rewards
  monkeypatch.setattr(losses, 'clip_rewards', lambda rewards, how: -original(rewards, how))
  config = baseline_config(tmp_path, method)
  experiment.train(config, env_factory=make_cue_environment)
  broken = evaluate(config)
  assert broken < 2., f'{method} learning from negated rewards still reached {broken:.2f}'


def test_value_based_training_resumes_with_its_target_network(tmp_path):
  config = baseline_config(tmp_path, 'n_step_q', total_environment_frames=1_000)
  experiment.train(config, env_factory=make_cue_environment)
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path)))
  saved = {name for name in reader.get_variable_to_shape_map() if name.startswith('target_agent/')}
  assert saved, 'no target network in the checkpoint'
  frames = experiment.train(dataclasses.replace(config, total_environment_frames=2_000),
                            env_factory=make_cue_environment)
  assert 2_000 <= frames < 2_100
  with open(os.path.join(tmp_path, 'episodes.csv')) as f:
    logged = [int(row['frames']) for row in csv.DictReader(f)]
  assert logged == sorted(logged) and logged[-1] > 1_000, 'the frame counter did not carry on'


def numpy_targets(method, target_q, actions, next_actions, rewards, discounts):
  """The A3C paper's targets, one transition at a time."""
  steps, batch = rewards.shape
  y = np.zeros((steps, batch))
  for b in range(batch):
    bootstrap = target_q[steps, b].max()  # n-step Q: R = max_a Q'(s_T, a), then backwards.
    for t in reversed(range(steps)):
      if method == 'one_step_q':
        y[t, b] = rewards[t, b] + discounts[t, b] * target_q[t + 1, b].max()
      elif method == 'one_step_sarsa':
        following = actions[t + 1, b] if t + 1 < steps else next_actions[b]
        y[t, b] = rewards[t, b] + discounts[t, b] * target_q[t + 1, b, following]
      else:
        bootstrap = rewards[t, b] + discounts[t, b] * bootstrap
        y[t, b] = bootstrap
  return y


@pytest.mark.parametrize('method', baseline_settings.Q_AGENTS)
@pytest.mark.parametrize('seed', range(3))
def test_targets_match_a_per_transition_reference(method, seed):
  rng = np.random.default_rng(seed)
  steps, batch, num_actions = 6, 3, 4
  target_q = rng.normal(size=(steps + 1, batch, num_actions)).astype(np.float32)
  actions = rng.integers(num_actions, size=(steps, batch)).astype(np.int32)
  next_actions = rng.integers(num_actions, size=batch).astype(np.int32)
  rewards = rng.normal(size=(steps, batch)).astype(np.float32)
  discounts = (0.9 * (rng.random((steps, batch)) > 0.2)).astype(np.float32)  # Some episode ends.
  got = q_learning.targets(method, target_q, actions, next_actions, rewards, discounts)
  np.testing.assert_allclose(
      got, numpy_targets(method, target_q, actions, next_actions, rewards, discounts), rtol=1e-5,
      atol=1e-5)


def test_epsilon_schedules_as_the_a3c_paper():
  rng = np.random.default_rng(0)
  finals = [q_learning.sample_final_epsilon(rng) for _ in range(4_000)]
  for value, probability in zip(q_learning.FINAL_EPSILONS, q_learning.FINAL_EPSILON_PROBABILITIES):
    assert abs(finals.count(value) / len(finals) - probability) < 0.03
  assert q_learning.annealed_epsilon(0.1, 0, 4_000_000) == 1.
  assert q_learning.annealed_epsilon(0.1, 2_000_000, 4_000_000) == pytest.approx(0.55)
  assert q_learning.annealed_epsilon(0.1, 9_000_000, 4_000_000) == pytest.approx(0.1)


# --- Flags --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('overrides,message', [
    (dict(agent='a2c', num_actors=4, batch_size=8), '--batch_size=8 does not fit --agent=a2c'),
    (dict(agent='a3c', batch_size=8), '--batch_size=8 does not fit --agent=a3c'),
    (dict(agent='a3c', correction='vtrace'), '--correction=vtrace does not fit --agent=a3c'),
    (dict(agent='a2c', a2c_sync='step', actor_threads=2), '--actor_threads=2 does not fit'),
    (dict(agent='one_step_q', envs_per_process=2), '--envs_per_process must be 1'),
    (dict(agent='a3c', job_name='learner', task=0), '--agent=a3c trains on one machine'),
    (dict(agent='n_step_q', target_update_frames=0), '--target_update_frames must be positive'),
    (dict(agent='one_step_sarsa', exploration_anneal_frames=-1),
     '--exploration_anneal_frames must be positive'),
])
def test_bad_baseline_flags_are_refused(tmp_path, overrides, message):
  with pytest.raises(ValueError, match=message):
    configuration.build(logdir=str(tmp_path), **overrides)


def test_a2c_plays_one_unroll_per_actor_per_update():
  config = configuration.build(agent='a2c', num_actors=6, a2c_sync='step')
  assert (config.batch_size, config.actor_threads, config.correction) == (6, 1, 'none')
  config = configuration.build(agent='a3c', num_actors=6, level_name='atari/pong')
  # The A3C paper's t_max and RMSProp epsilon; the paper's Atari values otherwise.
  assert (config.batch_size, config.actor_threads, config.unroll_length, config.epsilon,
          config.entropy_cost) == (1, 6, 5, 0.1, 0.01)
