"""PopArt (--popart): the rescaled value head keeps its outputs, the statistics follow a NumPy
reference and converge, one task with fixed statistics is IMPALA's update, checkpoints keep the
statistics, replicas update them alike, bad flags are refused, and on two tasks whose rewards differ
a thousandfold PopArt learns both where IMPALA on the same unclipped rewards learns neither."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

import configuration
import environments
from networks import popart as popart_net
from runtime import acting
from runtime import agents
from runtime import learner as learner_lib
from runtime import levels as levels_lib
from runtime import popart
from runtime import prefetch
from runtime import progress
from runtime import replicas
from runtime import run_config
from runtime import trajectories
from test_experiment import _InProcess, random_batch

SMALL, LARGE = 'synthetic/cue_0_x1', 'synthetic/cue_1_x1000'
TWO_TASKS = f'{SMALL},{LARGE}'


def scale_of(mean, second_moment, bounds=(1e-4, 1e6)):
  return np.clip(np.sqrt(np.maximum(second_moment - mean ** 2, 0.)), *bounds)


def reference_update(mean, second_moment, targets, tasks, step_size):
  """The statistics' update, in NumPy: task i's k unrolls are k steps of size beta towards their
  mean target and mean squared target."""
  mean, second_moment = mean.copy(), second_moment.copy()
  for task in set(tasks.tolist()):
    mine = targets[:, tasks == task]
    keep = (1. - step_size) ** mine.shape[1]
    mean[task] = keep * mean[task] + (1. - keep) * mine.mean()
    second_moment[task] = keep * second_moment[task] + (1. - keep) * np.square(mine).mean()
  return mean, second_moment


def as_float32(values):
  """The values as the learner has them (float32), in float64 for the reference's sums."""
  return np.asarray(values, np.float32).astype(np.float64)


def make_head(num_tasks, rng, core_size=32, dtype=tf.float32):
  head = popart_net.PopArtValue(num_tasks, (1e-4, 1e6))
  head.normalized(tf.zeros([1, core_size], dtype))  # The layer takes the dtype of its input.
  head._linear.w.assign(tf.cast(rng.normal(size=(core_size, num_tasks)) / 4, dtype))  # pylint: disable=protected-access
  head._linear.b.assign(tf.cast(rng.normal(size=num_tasks), dtype))  # pylint: disable=protected-access
  return head


def unnormalised(head, core):
  """v = sigma n + mu, in float64 from the head's n: what the rescaling must keep."""
  normalized = head.normalized(core).numpy().astype(np.float64)
  return normalized * head.scale().numpy() + head.mean.numpy()


# The paper's beta with the learner's float32 layer: the outputs are kept to 1e-5. One step of beta
# = 1 from mean 0 to 1e5 and back needs float64: float32 keeps ~7 digits of n(s), and b' then holds
# terms of 1e4 that cancel to what n(s) is; in float64 the rescaling is exact to 1e-9.
@pytest.mark.parametrize('step_size, dtype, tolerance', [(3e-4, tf.float32, 1e-5),
                                                         (1., tf.float64, 1e-9)])
def test_the_rescaled_head_keeps_its_outputs_across_extreme_targets(step_size, dtype, tolerance):
  rng = np.random.default_rng(0)
  head = make_head(3, rng, dtype=dtype)
  core = tf.constant(rng.normal(size=(64, 32)), dtype)
  w, b = head._linear.w.numpy().astype(np.float64), head._linear.b.numpy().astype(np.float64)  # pylint: disable=protected-access
  mean, second_moment = head.mean.numpy(), head.second_moment.numpy()
  largest = 0.
  for targets in (1e5, -3e3, 7.):  # Far from the statistics, then back.
    # Task 0 sees the extreme targets, task 1 a tenth of them, task 2 nothing.
    values = np.stack([targets * (1 + rng.normal(size=20) / 10),
                       targets / 10 + rng.normal(size=20)], axis=1)
    tasks = np.array([0, 1], np.int32)
    before = unnormalised(head, core)
    popart.update_statistics(head, tf.constant(values, tf.float32), tf.constant(tasks), step_size)
    after = unnormalised(head, core)
    largest = max(largest, head.scale().numpy()[0])
    limit = tolerance * np.maximum(1., np.abs(before))  # Of the output, where it is above 1.
    assert (np.abs(after - before) <= limit).all(), np.abs(after - before).max(axis=0)
    # The statistics and the weights are the NumPy reference's.
    new_mean, new_second = reference_update(mean, second_moment, as_float32(values),
                                            tasks, step_size)
    np.testing.assert_allclose(head.mean.numpy(), new_mean, rtol=1e-12)
    np.testing.assert_allclose(head.second_moment.numpy(), new_second, rtol=1e-12)
    old, new = scale_of(mean, second_moment), scale_of(new_mean, new_second)
    w, b = w * old / new, (old * b + mean - new_mean) / new
    np.testing.assert_allclose(head._linear.w.numpy(), w, rtol=1e-6)  # pylint: disable=protected-access
    np.testing.assert_allclose(head._linear.b.numpy(), b, rtol=1e-6)  # pylint: disable=protected-access
    w, b = head._linear.w.numpy().astype(np.float64), head._linear.b.numpy().astype(np.float64)  # pylint: disable=protected-access
    mean, second_moment = new_mean, new_second
  assert head.mean.numpy()[2] == 0 and head.second_moment.numpy()[2] == 1  # Task 2 saw nothing.
  assert largest > 1e2  # The statistics did move by orders of magnitude.


def test_the_statistics_converge_to_the_mean_and_scale_of_a_target_stream():
  rng = np.random.default_rng(1)
  means, scales = np.array([300., -2., .05]), np.array([40., .5, 1e-3])
  head = make_head(3, rng)
  update = tf.function(lambda targets, tasks: popart.update_statistics(head, targets, tasks, .04))
  for _ in range(200):  # About 530 unrolls of each task: the start is forgotten, (1 - .04)^530.
    tasks = rng.integers(0, 3, size=8).astype(np.int32)
    targets = rng.normal(means[tasks], scales[tasks], size=(10, 8))
    update(tf.constant(targets, tf.float32), tf.constant(tasks))
  # The moving averages' own noise: about 0.05 of the scale for the mean, a few % for the scale.
  np.testing.assert_array_less(np.abs(head.mean.numpy() - means), .2 * scales)
  np.testing.assert_allclose(head.scale().numpy(), scales, rtol=.15)


def cue_spec():
  return environments.environment_spec(SMALL)


def batch_of(config, agent, spec, levels, rng, reward_scale=1.):
  unrolls = random_batch(trajectories.unroll_example(agent, spec, config.unroll_length),
                         len(levels), spec.num_actions, rng)
  env_outputs = unrolls.env_outputs._replace(reward=unrolls.env_outputs.reward * reward_scale)
  return unrolls._replace(level_name=np.array([level.encode() for level in levels], object),
                          env_outputs=env_outputs)


def loss_and_gradients(learner, unrolls):
  with tf.GradientTape() as tape:
    total, terms = learner.loss(trajectories.time_major(unrolls))
  names = [v.name.replace('popart_value/normalized_value', 'baseline')
           for v in learner.agent.trainable_variables]
  return terms, dict(zip(names, tape.gradient(total, learner.agent.trainable_variables)))


def test_one_task_with_fixed_statistics_is_impalas_update():
  spec = cue_spec()
  impala_config = configuration.build(level_name=SMALL, network='shallow', use_lstm=True,
                                      unroll_length=5, batch_size=3, reward_clipping='none')
  # Step size 0 (no flag allows it) keeps mu = 0, sigma = 1.
  popart_config = dataclasses.replace(impala_config, popart=True, popart_step_size=0.)
  impala = learner_lib.Learner(agents.build_agent(impala_config, spec), impala_config)
  with_popart = learner_lib.Learner(agents.build_agent(popart_config, spec), popart_config)
  assert with_popart.agent.value_shape == () and isinstance(with_popart.agent.value_head,
                                                            popart_net.PopArtValue)
  weights = {v.name: v for v in impala.agent.trainable_variables}
  for v in with_popart.agent.trainable_variables:
    v.assign(weights[v.name.replace('popart_value/normalized_value', 'baseline')])
  unrolls = batch_of(impala_config, impala.agent, spec, [SMALL] * 3, np.random.default_rng(2), 5.)
  terms, gradients = loss_and_gradients(impala, unrolls)
  popart_terms, popart_gradients = loss_and_gradients(with_popart, unrolls)
  for name in ('policy_gradient_loss', 'baseline_loss', 'entropy_loss', 'total_loss'):
    np.testing.assert_allclose(popart_terms[name], terms[name], rtol=1e-6, err_msg=name)
  assert gradients.keys() == popart_gradients.keys()
  for name, gradient in gradients.items():
    np.testing.assert_allclose(popart_gradients[name], gradient, rtol=1e-5, atol=1e-7, err_msg=name)
  assert float(with_popart.agent.value_head.mean[0]) == 0.


def test_the_learner_does_not_read_the_baseline_actors_send():
  config = configuration.build(level_name=TWO_TASKS, popart=True, network='shallow',
                               use_lstm=False, unroll_length=4, batch_size=2)
  spec = cue_spec()
  learner = learner_lib.Learner(agents.build_agent(config, spec), config)
  unrolls = batch_of(config, learner.agent, spec, [SMALL, LARGE], np.random.default_rng(3))
  assert unrolls.agent_outputs.baseline.shape == (2, 5, 2)  # A value per task, per step.
  noisy = unrolls._replace(agent_outputs=unrolls.agent_outputs._replace(
      baseline=unrolls.agent_outputs.baseline + 1e3))
  statistics = [v.numpy() for v in (learner.agent.value_head.mean,
                                    learner.agent.value_head.second_moment)]
  terms, _ = loss_and_gradients(learner, unrolls)
  learner.agent.value_head.set_statistics(*statistics)  # The loss moved them: back to the start.
  noisy_terms, _ = loss_and_gradients(learner, noisy)
  assert float(noisy_terms['total_loss']) == float(terms['total_loss'])


def test_checkpoints_keep_the_statistics_for_resume_and_test_mode(tmp_path):
  config = configuration.resolve(dict(
      logdir=str(tmp_path), level_name=TWO_TASKS, popart=True, popart_step_size=.5,
      network='shallow', use_lstm=False, unroll_length=4, batch_size=2))
  run_config.write(config)
  spec = cue_spec()
  agent, learner, manager = learner_lib.learner_setup(config, spec, '/cpu:0')
  learner.train_step(prefetch.fresh_batch(batch_of(config, agent, spec, [SMALL, LARGE],
                                                   np.random.default_rng(4), 1e3)))
  saved = agent.value_head.mean.numpy(), agent.value_head.second_moment.numpy()
  assert np.all(saved[0] != 0) and np.all(saved[1] != 1)
  manager.save(checkpoint_number=1)
  # The core's outputs of the feed-forward agent: torso features, last reward, one-hot last action.
  core = tf.constant(np.random.default_rng(5).normal(size=(6, 256 + 1 + spec.num_actions)),
                     tf.float32)

  resumed = configuration.resolve(dict(logdir=str(tmp_path)))
  assert resumed.popart and resumed.level_name == TWO_TASKS  # From config.json.
  restored, _, _ = learner_lib.learner_setup(resumed, spec, '/cpu:0')
  tested = agents.build_agent(configuration.resolve(dict(logdir=str(tmp_path), mode='test')), spec)
  learner_lib.make_checkpoint(tested).restore(manager.latest_checkpoint).expect_partial()
  for other in (restored, tested):
    np.testing.assert_array_equal(other.value_head.mean.numpy(), saved[0])
    np.testing.assert_array_equal(other.value_head.second_moment.numpy(), saved[1])
    np.testing.assert_array_equal(other.value_head(core), agent.value_head(core))
  with pytest.raises(ValueError, match='--nopopart contradicts the run in --logdir'):
    configuration.resolve(dict(logdir=str(tmp_path), popart=False))


def test_replicas_update_the_statistics_alike_with_the_whole_batch():
  strategy = replicas.make_strategy(2)
  with strategy.scope():
    replicated = make_head(2, np.random.default_rng(6))  # Replica-local variables, as the learner's.
  one = make_head(2, np.random.default_rng(6))
  rng = np.random.default_rng(7)
  targets = (rng.normal(size=(5, 4)) * [1., 1., 100., 100.]).astype(np.float32)
  # Each replica's half holds one task only: without the sums over replicas, they would differ.
  tasks = np.array([0, 0, 1, 1], np.int32)

  def update(batch_major_targets, replica_tasks):
    popart.update_statistics(replicated, tf.transpose(batch_major_targets), replica_tasks, .1)

  shards = replicas.distribute(strategy, (tf.constant(targets.T), tf.constant(tasks)))
  tf.function(lambda shards: strategy.run(update, args=shards))(shards)
  popart.update_statistics(one, tf.constant(targets), tf.constant(tasks), .1)
  for name in ('mean', 'second_moment'):
    copies = [np.asarray(x) for x in strategy.experimental_local_results(getattr(replicated, name))]
    np.testing.assert_array_equal(copies[0], copies[1])
    np.testing.assert_allclose(copies[0], getattr(one, name).numpy(), rtol=1e-12)
  weights = [[np.asarray(x) for x in strategy.experimental_local_results(v)]
             for v in (replicated._linear.w, replicated._linear.b)]  # pylint: disable=protected-access
  for copies, expected in zip(weights, (one._linear.w, one._linear.b)):  # pylint: disable=protected-access
    np.testing.assert_array_equal(copies[0], copies[1])
    np.testing.assert_allclose(copies[0], expected.numpy(), rtol=1e-6)
  assert np.all(one.mean.numpy() != 0)
  config = configuration.build(level_name=TWO_TASKS, popart=True, learner_replicas=2)
  assert popart.PopArt(config).statistics(replicated) == pytest.approx({
      f'{SMALL}/popart_mean': one.mean.numpy()[0], f'{SMALL}/popart_scale': one.scale().numpy()[0],
      f'{LARGE}/popart_mean': one.mean.numpy()[1], f'{LARGE}/popart_scale': one.scale().numpy()[1]})


def test_each_tasks_mean_and_scale_reach_tensorboard(tmp_path):
  config = configuration.build(logdir=str(tmp_path), level_name=TWO_TASKS, popart=True)
  writer = tf.summary.create_file_writer(str(tmp_path))
  monitor = progress.Monitor(config, writer)
  monitor.report(1_000, 1, {'total_loss': 0.}, summaries=lambda: {f'{SMALL}/popart_scale': 2.5})
  monitor.close()
  writer.close()
  tags = {}
  for path in tf.io.gfile.glob(str(tmp_path / 'events.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        tags[value.tag] = float(tf.make_ndarray(value.tensor))
  assert tags[f'{SMALL}/popart_scale'] == 2.5


@pytest.mark.parametrize('given, message', [
    (dict(popart=True, agent='a3c', num_actors=2), '--popart .* --agent=a3c'),
    (dict(popart=True, agent='one_step_q', num_actors=2), '--popart .* --agent=one_step_q'),
    (dict(popart_step_size=.01), '--popart_step_size is a setting of --popart, which is off'),
    (dict(popart=True, popart_step_size=0.), r'--popart_step_size must be in \(0, 1\]'),
    (dict(popart=True, popart_scale_min=1., popart_scale_max=1.), '--popart_scale_min=1.0 must be '
                                                                  'below --popart_scale_max=1.0'),
    (dict(level_name='atari/pong,synthetic/cue_0_x1'), 'must have the same frames and actions'),
    (dict(level_name=f'{SMALL},{SMALL}'), 'a list names each level once'),
    (dict(level_name='synthetic/cue_3_x1'), "shift 0, 1 or 2"),
])
def test_flags_popart_cannot_work_with_are_refused(given, message):
  with pytest.raises(ValueError, match=message):
    configuration.build(**given)


def test_popart_on_atari_trains_on_unclipped_rewards_unless_told():
  assert configuration.build(level_name='atari/pong', popart=True).reward_clipping == 'none'
  assert configuration.build(level_name='atari/pong').reward_clipping == 'abs_one'
  assert configuration.build(level_name='atari/pong', popart=True,
                             reward_clipping='abs_one').reward_clipping == 'abs_one'
  games = configuration.build(level_name='atari/pong,atari/breakout', popart=True, num_actors=3)
  # One network plays both: all 18 actions; a value per game.
  assert games.atari_full_action_space and games.reward_clipping == 'none'
  assert popart.PopArt(games).tasks == ('atari/pong', 'atari/breakout')
  # A list is a suite: actor i plays level i mod N, test mode plays each.
  assert levels_lib.actor_levels(games) == ['atari/pong', 'atari/breakout', 'atari/pong']
  assert levels_lib.test_levels(games) == ['atari/pong', 'atari/breakout']


def test_dmlab30_keeps_a_value_for_each_level_whatever_this_machine_leaves_out():
  left_out = ('natlab_fixed_large_map', 'psychlab_arbitrary_visuomotor_mapping',
              'psychlab_continuous_recognition')  # The last two need a dataset not here.
  config = configuration.build(level_name='dmlab30', popart=True, num_actors=30,
                               exclude_levels=','.join(left_out))
  assert len(levels_lib.tasks(config)) == 30  # The network's shape does not follow the machine's.
  assert len(set(levels_lib.actor_levels(config))) == 27


def train_in_process(use_popart, steps=120, seed=1):
  """IMPALA or PopArt-IMPALA on the two cue tasks (rewards 1 and 1,000), its 8 environments stepped
  here on-policy: the mean of each task's last 20 episodes, in units of its reward."""
  levels = [SMALL, LARGE] * 4
  given = dict(popart=True, popart_step_size=.03) if use_popart else {}
  # The paper's beta of 3e-4 adapts over thousands of unrolls; these 120 updates need a faster one.
  config = configuration.build(
      level_name=TWO_TASKS, reward_clipping='none', network='shallow', use_lstm=False,
      num_actors=8, batch_size=8, unroll_length=10, entropy_cost=.01, learning_rate=.002,
      epsilon=.01, num_action_repeats=1, seed=seed, **given)
  group = environments.EnvironmentGroup(environments.create_environment, [
      dict(level_name=level, seed=seed * 100 + i, is_test=False, config=config.env_config)
      for i, level in enumerate(levels)])
  agent = agents.build_agent(config, group.spec)
  learner = learner_lib.Learner(agent, config)
  inference = acting.make_inference(agent, group.spec, 8, 1., batched=False)
  actor = acting.Actor(levels, list(range(8)), [_InProcess(group)], inference,
                       agents.actor_initial_state(agent), agents.actor_first_output(agent))
  step = learner.compiled_step(trajectories.unroll_example(agent, group.spec, 10), 8)
  returns = {SMALL: [], LARGE: []}
  try:
    for _ in range(steps):
      unroll = actor.unroll(config.unroll_length)
      step(prefetch.fresh_batch(unroll))
      info, done = unroll.env_outputs.info, unroll.env_outputs.done[:, 1:]
      for level, ended, episode_returns in zip(levels, done, info.episode_return[:, 1:]):
        returns[level].extend(episode_returns[ended])
  finally:
    inference.close()
  return {level: np.mean(r[-20:]) / (1e3 if level == LARGE else 1.) for level, r in returns.items()}


def test_popart_learns_both_tasks_where_unclipped_impala_neglects_the_small_one():
  # Seeds 1 to 4 (120 updates; 160 for 2 to 4): PopArt at 6.4 to 10 on each task (6.7: two of the
  # three cues answered), IMPALA at 2.8 to 3.8 on both, random play's 3.3: its updates follow the
  # large rewards' scale (and, unclipped, it learns the large task no better in this budget).
  learned = train_in_process(use_popart=True)
  assert min(learned.values()) > 6., f'PopArt: {learned} (of 10; random play gets 3.3)'
  plain = train_in_process(use_popart=False)
  assert plain[SMALL] < 4.5, f'IMPALA, unclipped: {plain} (of 10; random play gets 3.3)'
