"""The learner over several devices (--learner_replicas): the same update as one device, checkpoints
across replica counts, training, and the flags. The replicas are the two logical CPU devices
conftest.py sets up."""
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import configuration
from cue_environment import make_cue_environment
import experiment
from runtime import agents
from runtime import learner as learner_lib
from runtime import prefetch
from runtime import replicas
from runtime import trajectories
from test_experiment import cue_config, episode_returns, random_batch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Float32 sums of the same terms in another order (two half-batch sums, then their sum) differ by a
# few units in the last place of the partial sums: about 1e-6 relative for these sizes, and RMSProp's
# normalised step carries that over. 1e-5 relative leaves room and still catches any real difference
# (a replica's gradient alone, or a norm of half the batch, is off by tens of percent).
RTOL, ATOL = 1e-5, 1e-6


def learner_for(config, spec, strategy):
  with strategy.scope() if strategy else tf.device('/device:CPU:0'):
    agent = agents.build_agent(config, spec)
    return learner_lib.Learner(agent, config, strategy)


def first_values(variables, strategy):
  """Each variable's value (replica 0's), and every replica's copy, as NumPy arrays."""
  if strategy is None:
    return [v.numpy() for v in variables], [[v.numpy()] for v in variables]
  local = [[np.asarray(x) for x in strategy.experimental_local_results(v)] for v in variables]
  return [copies[0] for copies in local], local


def setup(clip, torso_dtype='float32'):
  spec = make_cue_environment('test/cue', 0, False, None).spec
  config = configuration.build(level_name='synthetic/dmlab', network='shallow', use_lstm=True,
                               unroll_length=5, batch_size=4, num_action_repeats=1,
                               gradient_clip_norm=clip, entropy_cost=0.01, learning_rate=0.01,
                               epsilon=0.01, torso_dtype=torso_dtype)
  one = learner_for(config, spec, None)
  strategy = replicas.make_strategy(2)
  two = learner_for(dataclasses.replace(config, learner_replicas=2), spec, strategy)
  for source, target in zip(one.agent.variables, two.agent.variables):
    target.assign(source)  # The same weights on both (and on each replica).
  example = trajectories.unroll_example(one.agent, spec, config.unroll_length)
  unrolls = random_batch(example, config.batch_size, spec.num_actions, np.random.default_rng(3))
  replayed = np.array([False, True, False, True])  # Frames count for the fresh ones only.
  return config, example, one, two, strategy, prefetch.Batch(unrolls, replayed)


def gradients(learner, batch):
  """The gradient of the whole batch's loss, as train_step applies it (summed over replicas)."""
  def replica_gradients(batch):
    with tf.GradientTape() as tape:
      total, _ = learner.loss(trajectories.time_major(batch.unrolls), replayed=batch.replayed)
    return replicas.sum_over_replicas(tape.gradient(total, learner.agent.trainable_variables))
  if learner.strategy is None:
    return [g.numpy() for g in replica_gradients(batch)]
  run = tf.function(lambda batch: learner.strategy.run(replica_gradients, args=(batch,)))
  per_replica = run(replicas.distribute(learner.strategy, batch))
  local = learner.strategy.experimental_local_results(per_replica)
  for other in local[1:]:  # Every replica holds the same sum.
    for a, b in zip(local[0], other):
      np.testing.assert_array_equal(a, b)
  return [np.asarray(g) for g in local[0]]


@pytest.mark.parametrize('clip', [0., 1.])
def test_two_replicas_make_the_update_one_device_makes(clip):
  config, example, one, two, strategy, batch = setup(clip)
  for a, b in zip(gradients(one, batch), gradients(two, batch)):
    np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL)

  before = [v.numpy() for v in one.agent.trainable_variables]
  terms_one = one.compiled_step(example, config.batch_size)(batch)
  terms_two = two.compiled_step(example, config.batch_size)(replicas.distribute(strategy, batch))
  if clip:
    assert float(terms_one['gradient_norm']) > 3 * clip, 'the test should clip'
  for name in ('total_loss', 'policy_gradient_loss', 'baseline_loss', 'entropy_loss', 'gradient_norm',
               'max_abs_log_rho', 'mean_abs_log_rho', 'mean_abs_log_rho_fresh',
               'mean_abs_log_rho_replayed', 'replayed_share', 'learning_rate', 'silent_torso_units'):
    np.testing.assert_allclose(float(terms_two[name]), float(terms_one[name]), rtol=RTOL, atol=ATOL,
                               err_msg=name)

  state_one = [*one.agent.trainable_variables, *one.optimizer.ms]
  state_two = [*two.agent.trainable_variables, *two.optimizer.ms]
  values_one, _ = first_values(state_one, None)
  _, copies_two = first_values(state_two, strategy)
  for value, copies in zip(values_one, copies_two):
    for copy in copies:  # Each replica applied the same update.
      np.testing.assert_allclose(copy, value, rtol=RTOL, atol=ATOL)
  assert max(np.abs(a - b).max() for a, b in zip(before, values_one)) > 1e-4, 'nothing moved'
  frames = [int(np.asarray(x)) for x in strategy.experimental_local_results(two.num_env_frames)]
  assert frames == [int(one.num_env_frames.numpy())] * 2 == [2 * 5] * 2  # 2 fresh unrolls of 5.


def test_two_replicas_with_a_bfloat16_torso_make_the_update_one_device_makes():
  """Each replica traces the torso under Sonnet's custom getter, in a thread of its own."""
  _, _, one, two, _, batch = setup(0., 'bfloat16')
  # Not to 1e-5: the torso's gradients come out of bfloat16 sums (8 bits of mantissa), which the
  # half batches round differently; the same direction, variable by variable.
  for a, b in zip(gradients(one, batch), gradients(two, batch)):
    assert np.dot(a.ravel(), b.ravel()) / (np.linalg.norm(a) * np.linalg.norm(b)) > .99


def test_checkpoints_restore_across_replica_counts(tmp_path):
  config, example, one, two, strategy, batch = setup(1.)
  two.compiled_step(example, config.batch_size)(replicas.distribute(strategy, batch))
  path = learner_lib.make_checkpoint(two.agent, two).save(str(tmp_path / 'two'))
  single = learner_for(config, make_cue_environment('test/cue', 0, False, None).spec, None)
  learner_lib.make_checkpoint(single.agent, single).restore(path).assert_consumed()
  saved, _ = first_values([*two.agent.trainable_variables, *two.optimizer.ms, two.num_env_frames],
                          strategy)
  restored, _ = first_values([*single.agent.trainable_variables, *single.optimizer.ms,
                              single.num_env_frames], None)
  for a, b in zip(saved, restored):
    np.testing.assert_array_equal(a, b)

  # And back: one device's checkpoint into two replicas, each of which gets it.
  single.compiled_step(example, config.batch_size)(batch)
  path = learner_lib.make_checkpoint(single.agent, single).save(str(tmp_path / 'one'))
  learner_lib.make_checkpoint(two.agent, two).restore(path).assert_consumed()
  expected, _ = first_values([*single.agent.trainable_variables, *single.optimizer.ms,
                              single.num_env_frames], None)
  _, copies = first_values([*two.agent.trainable_variables, *two.optimizer.ms, two.num_env_frames],
                           strategy)
  for value, replica_copies in zip(expected, copies):
    for copy in replica_copies:
      np.testing.assert_array_equal(copy, value)


def test_impala_learns_the_cue_task_on_two_replicas(tmp_path):
  experiment.train(dataclasses.replace(cue_config(tmp_path), learner_replicas=2),
                   env_factory=make_cue_environment)
  learned = np.mean(episode_returns(tmp_path)[-40:])
  assert learned > 8.5, f'mean return {learned:.2f} of 10 at the end; random play gets 3.3'


@pytest.mark.parametrize('given,message', [
    (dict(learner_replicas=3, batch_size=4), '--batch_size=4 must divide evenly over '
                                             '--learner_replicas=3'),
    (dict(learner_replicas=0), '--learner_replicas must be positive'),
    (dict(learner_replicas=2, agent='a3c', num_actors=4), 'leave --learner_replicas at 1'),
])
def test_bad_replica_flags_are_refused(given, message):
  with pytest.raises(ValueError, match=message):
    configuration.build(**given)


def test_pong_trains_on_two_replicas_checkpoints_and_tests(tmp_path):
  common = [sys.executable, 'experiment.py', f'--logdir={tmp_path}']
  trained = subprocess.run(common + [
      '--level_name=atari/pong', '--learner_replicas=2', '--batch_size=4', '--num_actors=4',
      '--envs_per_process=2', '--actor_threads=2', '--total_environment_frames=1600'],
      cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
  assert trained.returncode == 0, trained.stderr[-3000:]
  assert 'Learner: 2 replicas' in trained.stderr
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-1600')
  tested = subprocess.run(common + ['--mode=test', '--test_num_episodes=1', '--max_episode_frames=1000'],
                          cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
  assert tested.returncode == 0, tested.stderr[-3000:]
  assert (tmp_path / 'evaluation.json').exists()
