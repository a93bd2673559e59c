"""Population-based training: the paper's rules on values the tests control, fitness, a decision
reaching a running learner, and a population on the cue task whose half cannot learn alone."""
import csv
import dataclasses
import os
import re
import signal
import threading

import numpy as np
import pytest
import tensorflow as tf

import atari57
import dmlab30
import environments
from pbt import controller
from pbt import fitness
from pbt import population
from pbt import rules
from runtime import agents
from runtime import hyperparameters
from runtime import learner as learner_lib
from runtime import prefetch
from runtime import run_config
from runtime import trajectories
from test_experiment import episode_returns, make_config, random_batch

TESTS = os.path.dirname(os.path.abspath(__file__))


def test_initial_hyperparameters_follow_table_d1_and_the_seed():
  draws = [rules.initial_hyperparameters(population.new_generator(1, i), 'dmlab30') for i in range(2000)]
  for name, (low, high) in (('learning_rate', rules.LEARNING_RATE_RANGE),
                            ('entropy_cost', rules.ENTROPY_COST_RANGE)):
    logs = np.log([d[name] for d in draws])
    assert logs.min() >= np.log(low) and logs.max() <= np.log(high)
    # Log-uniform: the logs' mean and spread are the uniform's on [log low, log high].
    assert abs(logs.mean() - np.log(low * high) / 2) < 0.1
    assert abs(logs.std() - (np.log(high) - np.log(low)) / np.sqrt(12)) < 0.1
  epsilons = [d['epsilon'] for d in draws]
  assert set(epsilons) == set(rules.EPSILON_CHOICES)
  assert all(abs(epsilons.count(e) / len(draws) - 0.25) < 0.04 for e in rules.EPSILON_CHOICES)
  assert 'gradient_clip_norm' not in draws[0]
  assert rules.initial_hyperparameters(population.new_generator(3, 0), 'atari57')[
      'gradient_clip_norm'] == 40.
  same = rules.initial_hyperparameters(population.new_generator(1, 5), 'dmlab30')
  assert same == draws[5] and draws[5] != draws[6]


def test_copy_only_when_the_partner_is_fitter_by_more_than_the_threshold():
  assert rules.should_copy(10., 15.1, 5.)
  assert not rules.should_copy(10., 15., 5.)
  assert not rules.should_copy(10., 4., 5.)
  assert not rules.should_copy(None, 50., 5.) and not rules.should_copy(10., None, 5.)
  assert rules.should_copy(-20., -19.5, 0.)


def test_explore_multiplies_each_by_1_2_or_its_inverse_with_probability_one_third():
  rng = np.random.default_rng(0)
  values = dict(learning_rate=1e-3, entropy_cost=1e-2, epsilon=1e-5, gradient_clip_norm=40.)
  names = rules.evolved_names('dmlab30')
  factors = {name: [] for name in values}
  for _ in range(6000):
    explored = rules.explore(rng, values, names)
    for name in values:
      factors[name].append(explored[name] / values[name])
  assert set(np.round(factors['gradient_clip_norm'], 9)) == {1.}  # Not evolved on DMLab-30.
  for name in names:
    f = np.round(factors[name], 9)
    assert set(f) == {1., round(1.2, 9), round(1 / 1.2, 9)}
    assert abs(np.mean(f != 1.) - 0.33) < 0.025
    assert abs(np.mean(f > 1.) - np.mean(f < 1.)) < 0.03
  assert 'gradient_clip_norm' in rules.evolved_names('atari57')


def test_readiness_waits_for_the_burn_in_and_for_enough_new_episodes():
  assert not rules.is_ready(frames=999, episodes=100, episodes_at_last_decision=0, burn_in_frames=1000,
                            ready_episodes=10)
  assert rules.is_ready(1000, 10, 0, 1000, 10)
  assert not rules.is_ready(5000, 19, 10, 1000, 10)
  assert rules.is_ready(5000, 20, 10, 1000, 10)


def test_partners_are_drawn_uniformly_among_the_others():
  rng = np.random.default_rng(1)
  drawn = [rules.draw_partner(rng, 2, range(5)) for _ in range(4000)]
  assert 2 not in drawn
  counts = np.bincount(drawn, minlength=5)[[0, 1, 3, 4]]
  assert np.all(np.abs(counts / 4000 - 0.25) < 0.03)


def test_fitness_is_the_papers_for_suites_single_levels_and_other_levels():
  returns = {'rooms_watermaze': [40., 50.], 'explore_goal_locations_small': [1000.]}
  per_level = dmlab30.human_normalized_scores(returns)
  expected = np.mean([min(s, 100.) for s in per_level.values()])
  assert max(per_level.values()) > 100.  # The cap matters here.
  assert fitness.score('dmlab30', returns) == pytest.approx(expected)
  pong = atari57.human_normalized_scores({'pong': [0.]})['pong']
  assert fitness.score('atari/pong', {'atari/pong': [-1., 1.]}) == pytest.approx(pong)
  assert fitness.score('synthetic/dmlab', {'synthetic/dmlab': [1., 2., 6.]}) == pytest.approx(3.)
  assert fitness.score('atari/pong', {}) is None


def test_episode_reader_reads_only_whole_new_lines(tmp_path):
  path = tmp_path / 'episodes.csv'
  path.write_text('frames,seconds,level,episode_return,episode_frames\n100,1.0,a,1.0,10\n200,2.0,a,3')
  reader = fitness.EpisodeReader(str(tmp_path), window=2).update()
  assert (reader.episodes, reader.frames, list(reader.returns['a'])) == (1, 100, [1.])
  with open(path, 'a') as f:
    f.write('.0,10\n300,3.0,a,5.0,10\n')
  reader.update()
  assert (reader.episodes, reader.frames, list(reader.returns['a'])) == (3, 300, [3., 5.])
  assert reader.fitness('test/cue') == 4.


def make_learner(config, seed):
  spec = environments.environment_spec('synthetic/dmlab')
  agent = agents.build_agent(dataclasses.replace(config, seed=seed), spec)
  learner = learner_lib.Learner(agent, config)
  batch = random_batch(trajectories.unroll_example(agent, spec, config.unroll_length),
                       config.batch_size, spec.num_actions, np.random.default_rng(seed))
  return learner, batch


def test_a_decision_reaches_the_running_learner_and_survives_resume(tmp_path):
  config = make_config(tmp_path / 'member', level_name='synthetic/dmlab', network='shallow',
                       unroll_length=5, batch_size=2, total_environment_frames=100_000,
                       learning_rate=1e-3, pbt_member=0)
  partner, batch = make_learner(config, seed=1)
  for _ in range(3):
    partner.train_step(prefetch.fresh_batch(batch))
  source = learner_lib.make_checkpoint(partner.agent, partner).save(str(tmp_path / 'partner' / 'ckpt'))
  _, member, manager = learner_lib.learner_setup(config, environments.environment_spec(
      'synthetic/dmlab'), '/device:CPU:0')
  member.train_step(prefetch.fresh_batch(batch))
  link = hyperparameters.MemberLink(config.logdir, member, manager)
  assert not link.poll()  # No decision yet.
  new = dict(learning_rate=2e-3, entropy_cost=0.02, epsilon=1e-5, gradient_clip_norm=0.)
  hyperparameters.write_json(os.path.join(config.logdir, hyperparameters.DIRECTIVE_FILE),
                             dict(decision=1, copy_from=source, hyperparameters=new))
  assert link.poll() and not link.poll()  # Applied once.
  for mine, theirs in zip(member.agent.trainable_variables, partner.agent.trainable_variables):
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
  for mine, theirs in zip(member.optimizer.ms, partner.optimizer.ms):
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
  assert int(member.num_env_frames.numpy()) == config.frames_per_step  # Its own, not the partner's.
  assert member.hyperparameters.values() == pytest.approx(new)
  published = hyperparameters.read_json(os.path.join(config.logdir, hyperparameters.VALUES_FILE))
  assert published['decision'] == 1 and published['learning_rate'] == pytest.approx(2e-3)
  # The running learner uses the new values: the annealed rate, epsilon and the entropy term.
  terms = member.train_step(prefetch.fresh_batch(batch))
  expected_lr = 2e-3 * (1 - config.frames_per_step / config.total_environment_frames)
  assert float(terms['learning_rate']) == pytest.approx(expected_lr, rel=1e-5)
  assert float(member.optimizer.epsilon.numpy()) == pytest.approx(1e-5)
  _, loss_terms = member.loss(trajectories.time_major(batch))
  _, default_terms = learner_lib.Learner(member.agent, config).loss(trajectories.time_major(batch))
  assert float(loss_terms['entropy_loss']) == pytest.approx(
      float(default_terms['entropy_loss']) * 0.02 / config.entropy_cost, rel=1e-4)
  # Resumed, a member keeps what it evolved (the checkpoint's); an ordinary run takes its flags'.
  _, resumed, _ = learner_lib.learner_setup(config, environments.environment_spec('synthetic/dmlab'),
                                            '/device:CPU:0')
  assert resumed.hyperparameters.values() == pytest.approx(new)
  assert int(resumed.hyperparameters.decision.numpy()) == 1
  ordinary = dataclasses.replace(config, pbt_member=-1, hyperparameter_directives=False)
  _, resumed, _ = learner_lib.learner_setup(ordinary, environments.environment_spec('synthetic/dmlab'),
                                            '/device:CPU:0')
  assert resumed.hyperparameters.learning_rate.numpy() == pytest.approx(1e-3)


@pytest.mark.parametrize('flags, message', [
    (dict(pbt_population=1), '--pbt_population must be 0 (no PBT) or at least 2'),
    (dict(pbt_population=2, agent='a3c'), '--agent must be impala'),
    (dict(pbt_population=2, optimizer='adam'), '--optimizer must be rmsprop'),
    (dict(pbt_population=3, pbt_members='0,3'), '--pbt_members must be comma-separated'),
    (dict(pbt_members='1'), '--pbt_members needs --pbt_population'),
    (dict(pbt_population=2, pbt_ready_episodes=0), '--pbt_ready_episodes must be positive'),
])
def test_bad_population_settings_are_refused_naming_the_flag(tmp_path, flags, message):
  with pytest.raises(ValueError, match=re.escape(message)):
    make_config(tmp_path, level_name='synthetic/dmlab', **flags)


def test_test_mode_evaluates_the_fittest_member_or_the_one_named(tmp_path):
  run_config.write(make_config(tmp_path, level_name='test/cue', pbt_population=3))
  for i, returns in enumerate([[1., 2.], [9., 7.], []]):
    os.makedirs(population.member_logdir(str(tmp_path), i))
    with open(os.path.join(population.member_logdir(str(tmp_path), i), 'episodes.csv'), 'w') as f:
      f.write('frames,seconds,level,episode_return,episode_frames\n')
      f.writelines(f'{10 * j},1.0,test/cue,{r},10\n' for j, r in enumerate(returns))
  assert population.test_logdir(dict(logdir=str(tmp_path))) == str(tmp_path / 'member_1')
  assert population.test_logdir(dict(logdir=str(tmp_path), pbt_member=2)) == str(tmp_path / 'member_2')
  with pytest.raises(ValueError, match='--pbt_member must be'):
    population.test_logdir(dict(logdir=str(tmp_path), pbt_member=3))
  assert population.test_logdir(dict(logdir=str(tmp_path / 'member_0'))) == str(tmp_path / 'member_0')


def test_a_population_whose_half_cannot_learn_ends_with_every_member_learning(tmp_path):
  # Member 0 learns the cue task in seconds; member 1's learning rate is too small to move at all.
  # Evolution (no burn-in, a decision every 20 episodes, copying when 2.5 points of return fitter) must
  # hand member 1 member 0's weights and learning rate. The threshold is above the noise of random
  # play's 20-episode means (2.5 to 4.25 seen; with 1 point, a loaded machine once had member 0 copy
  # member 1 before it had learned) and below learning's gain (3.3 to 10). 8,000 frames leave room
  # for a late copy: with 5,000, the suite's other worker once delayed member 0's start so that
  # member 1 found it ready only at 3,920 frames, and ended at 4.9.
  given = dict(level_name='test/cue', network='shallow', use_lstm=False, num_actors=4, batch_size=8,
               unroll_length=10, num_action_repeats=1, total_environment_frames=8_000,
               summary_secs=1, pbt_population=2, pbt_burn_in_frames=0, pbt_ready_episodes=20,
               pbt_threshold=2.5)
  config = make_config(tmp_path, **given)
  initial = lambda index, rng: dict(learning_rate=2e-3 if index == 0 else 1e-7, entropy_cost=0.01,
                                    epsilon=0.01)
  code = controller.run(config, given, program=os.path.join(TESTS, 'cue_member.py'), initial=initial)
  assert code == 0, [open(tmp_path / f'member_{i}' / 'log.txt').read()[-3000:] for i in range(2)]
  for i in range(2):
    learned = np.mean(episode_returns(tmp_path / f'member_{i}')[-40:])
    assert learned > 8., f'member {i}: mean return {learned:.2f} of 10 at the end; random play 3.3'
  with open(tmp_path / 'pbt.csv') as f:
    decisions = list(csv.DictReader(f))
  assert any(d['member'] == '1' and d['copied'] == '1' and d['partner'] == '0' for d in decisions)
  assert not any(d['member'] == '0' and d['copied'] == '1' for d in decisions)
  assert (tmp_path / 'pbt.png').stat().st_size > 0
  assert tf.train.latest_checkpoint(str(tmp_path / 'member_1'))


def test_a_population_stopped_by_a_signal_exits_with_128_plus_it(tmp_path):
  # What a scheduler retries (docs/cluster.md, "What stops what"), as for a single run's learner.
  given = dict(level_name='test/cue', network='shallow', use_lstm=False, num_actors=2, batch_size=2,
               unroll_length=10, num_action_repeats=1, total_environment_frames=10_000_000,
               pbt_population=2)
  config = make_config(tmp_path, **given)
  timer = threading.Timer(2., os.kill, (os.getpid(), signal.SIGTERM))
  timer.start()
  try:
    code = controller.run(config, given, program=os.path.join(TESTS, 'cue_member.py'))
  finally:
    timer.cancel()
  assert code == 128 + signal.SIGTERM


def write_member(logdir, index, returns, values, decision=0):
  member_dir = population.member_logdir(str(logdir), index)
  os.makedirs(member_dir, exist_ok=True)
  with open(os.path.join(member_dir, 'episodes.csv'), 'w') as f:
    f.write('frames,seconds,level,episode_return,episode_frames\n')
    f.writelines(f'{100 * (j + 1)},1.0,test/cue,{r},10\n' for j, r in enumerate(returns))
  hyperparameters.write_json(os.path.join(member_dir, hyperparameters.VALUES_FILE),
                             dict(values, decision=decision, frames=100 * len(returns)))
  return member_dir


def test_decisions_copy_the_fitter_and_a_restarted_controller_goes_on_where_it_stopped(tmp_path):
  given = dict(level_name='test/cue', pbt_population=2, pbt_burn_in_frames=0, pbt_ready_episodes=5,
               pbt_threshold=1.)
  config = make_config(tmp_path, **given)
  initial = lambda index, rng: dict(learning_rate=1e-3 * (index + 1), entropy_cost=0.01, epsilon=0.1)
  first = controller.Controller(config, given, 'experiment.py', initial)
  assert [m.state['initial_hyperparameters']['learning_rate'] for m in first.members] == [1e-3, 2e-3]
  assert '--pbt_member=1' in first.members[1].command and '--learning_rate=0.002' in first.members[1].command
  values = lambda lr: dict(learning_rate=lr, entropy_cost=0.01, epsilon=0.1, gradient_clip_norm=0.)
  write_member(tmp_path, 0, [2.] * 6, values(1e-3))
  partner_dir = write_member(tmp_path, 1, [9.] * 6, values(2e-3))
  checkpoint = tf.train.Checkpoint(v=tf.Variable(1.))
  checkpoint.save(os.path.join(partner_dir, 'ckpt'))
  for reader in first.readers.values():
    reader.update()
  assert first._ready(first.members[0])  # pylint: disable=protected-access
  first.decide(first.members[0])
  directive = hyperparameters.read_json(os.path.join(tmp_path, 'member_0', hyperparameters.DIRECTIVE_FILE))
  assert directive['decision'] == 1 and directive['copy_from'].startswith(
      os.path.join(str(tmp_path), 'member_0', 'pbt_copy'))
  assert os.path.exists(directive['copy_from'] + '.index')
  ratio = directive['hyperparameters']['learning_rate'] / 2e-3  # The partner's, perhaps perturbed.
  assert min(abs(ratio - r) for r in (1., 1.2, 1 / 1.2)) < 1e-9
  # Not ready again until the member applied the decision and played 5 more episodes.
  assert not first._ready(first.members[0])  # pylint: disable=protected-access

  # Stopped and started again: the same first values, decisions and generator, not new draws.
  second = controller.Controller(config, given, 'experiment.py', lambda index, rng: 1 / 0)
  member = second.members[0]
  assert member.state['decision'] == 1 and member.state['episodes_at_last_decision'] == 6
  assert member.rng.bit_generator.state == first.members[0].rng.bit_generator.state
  write_member(tmp_path, 0, [2.] * 11, values(2e-3), decision=1)
  for reader in second.readers.values():
    reader.update()
  assert second._ready(member)  # pylint: disable=protected-access
  second.decide(member)
  with open(tmp_path / 'pbt.csv') as f:
    rows = list(csv.DictReader(f))
  assert [(r['member'], r['partner'], r['copied'], r['fitness'], r['partner_fitness']) for r in rows] == [
      ('0', '1', '1', '2.0', '9.0'), ('0', '1', '1', '2.0', '9.0')]
  assert hyperparameters.read_json(os.path.join(
      tmp_path, 'member_0', hyperparameters.DIRECTIVE_FILE))['decision'] == 2
  assert (tmp_path / 'pbt.png').stat().st_size > 0


def test_a_checkpoint_from_before_hyperparameters_were_kept_still_restores(tmp_path):
  config = make_config(tmp_path, level_name='synthetic/dmlab', network='shallow', learning_rate=3e-3)
  old, _ = make_learner(config, seed=2)
  old.num_env_frames.assign(4321)
  tf.train.Checkpoint(agent=old.agent, optimizer=old.optimizer, num_env_frames=old.num_env_frames).save(
      str(tmp_path / 'ckpt'))
  _, restored, _ = learner_lib.learner_setup(config, environments.environment_spec('synthetic/dmlab'),
                                             '/device:CPU:0')
  assert int(restored.num_env_frames.numpy()) == 4321
  for a, b in zip(old.agent.trainable_variables, restored.agent.trainable_variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  assert restored.hyperparameters.learning_rate.numpy() == pytest.approx(3e-3)


@pytest.mark.parametrize('fail_times, code, starts', [(1, 0, 2), (-1, 1, controller.MAX_CRASHES)])
def test_a_crashed_member_is_restarted_and_one_that_never_runs_stops_the_run(
    tmp_path, monkeypatch, fail_times, code, starts):
  monkeypatch.setattr(controller, 'POLL_SECONDS', 0.05)
  given = dict(level_name='test/cue', pbt_population=2)
  config = make_config(tmp_path, **given)
  program = os.path.join(TESTS, 'flaky_member.py')
  # The stand-in reads --fail_times from the flags the controller passes on (an unknown flag to
  # experiment.py, but the stand-in is not experiment.py).
  ctl = controller.Controller(config, given, program)
  for member in ctl.members:
    member.command.append(f'--fail_times={fail_times}')
  assert ctl.run() == code
  files = [tmp_path / f'member_{i}' / 'starts' for i in range(2)]
  counts = [len(f.read_text()) if f.exists() else 0 for f in files]
  if code == 0:  # Both were restarted, then ran to the end.
    assert counts == [starts, starts]
  else:  # One failed every start until the run stopped; the other, slower to start on a busy
    # machine, may have failed fewer times by then (or been stopped before its first line ran).
    assert max(counts) == starts
