"""Experience replay: the buffer's sampling and eviction, batches that mix the configured share, what
the learner gets and counts, the memory check and the flags."""
import dataclasses
import threading

import numpy as np
import pytest
import tree

import configuration
from cue_environment import make_cue_environment
import environments
import experiment
import networks
from runtime import agents
from runtime import learner as learner_lib
from runtime import prefetch
from runtime import replay
from runtime import trajectories
from test_experiment import cue_config, episode_returns, random_batch


def numbered(ids):
  """A batch of tiny 'unrolls' whose two leaves both hold each one's id."""
  ids = np.asarray(ids, np.int32)
  return [ids, np.stack([np.full((3, 2), i, np.float32) for i in ids])]


EXAMPLE = [np.int32(0), np.zeros((3, 2), np.float32)]


def test_sampling_is_uniform_over_the_unrolls_held():
  buffer = replay.ReplayBuffer(EXAMPLE, capacity=40, seed=0)
  buffer.add(numbered(range(40)))
  ids, values = buffer.sample(40_000)
  np.testing.assert_array_equal(values[:, 0, 0], ids)  # Leaves of one unroll stay together.
  counts = np.bincount(ids, minlength=40)
  expected = 40_000 / 40
  chi_square = ((counts - expected) ** 2 / expected).sum()
  assert chi_square < 77.  # The 0.9999 quantile of chi-square with 39 degrees of freedom is 77.


def test_the_oldest_unrolls_leave_first():
  buffer = replay.ReplayBuffer(EXAMPLE, capacity=10, seed=0)
  for start in range(0, 25, 5):
    buffer.add(numbered(range(start, start + 5)))
  assert buffer.size == 10 and buffer.added == 25
  ids, _ = buffer.sample(5_000)
  assert set(ids.tolist()) == set(range(15, 25))
  # While not full, only what was added is sampled.
  young = replay.ReplayBuffer(EXAMPLE, capacity=100, seed=0)
  young.add(numbered([7, 8, 9]))
  assert set(young.sample(1_000)[0].tolist()) == {7, 8, 9}


@pytest.mark.parametrize('proportion,batch_size,expected', [
    (0.5, 32, 16), (0.5, 8, 4), (0.3, 8, 2), (0.25, 2, 0), (0.9, 2, 1), (0.99, 8, 7)])
def test_the_proportion_rounds_to_whole_unrolls_and_leaves_one_fresh(proportion, batch_size, expected):
  assert replay.replayed_per_batch(proportion, batch_size) == expected


def unroll_batch(env_spec, agent, size, rng, unroll_length=4):
  """(example, `size` random unrolls of the cue task's shapes), as the actors would enqueue them."""
  example = trajectories.unroll_example(agent, env_spec, unroll_length)
  return example, random_batch(example, size, env_spec.num_actions, rng)


def cue_agent():
  spec = make_cue_environment('test/cue', 0, False, None).spec
  config = configuration.build(level_name='synthetic/dmlab', network='shallow', use_lstm=True)
  return spec, agents.build_agent(config, spec)


def test_batches_mix_the_share_and_replay_exactly_what_was_stored():
  spec, agent = cue_agent()
  rng = np.random.default_rng(0)
  example, unrolls = unroll_batch(spec, agent, 48, rng)
  queue = trajectories.make_trajectory_queue(example, 48, '/device:CPU:0')
  queue.enqueue_many(tree.flatten(unrolls))
  buffer = replay.ReplayBuffer(example, capacity=100, seed=1)
  prefetcher = prefetch.Prefetcher(queue, example, 8, '/device:CPU:0', buffer, replayed=4)
  stored = [tree.map_structure(lambda x, i=i: x[i], unrolls) for i in range(48)]

  def index_of(unroll):
    matches = [i for i, s in enumerate(stored) if all(
        np.array_equal(a, b) for a, b in zip(tree.flatten(s), tree.flatten(unroll)))]
    assert len(matches) == 1, 'a replayed unroll differs from every stored one'
    return matches[0]

  seen, replayed_seen = 0, 0
  stop = threading.Event()
  try:
    for step in range(7):  # 8 fresh, then 6 batches of 4 fresh + 4 replayed: 32 fresh in all.
      batch = prefetcher.get(stop).batch
      mask = batch.replayed.numpy()
      expected = 0 if step == 0 else 4  # The buffer is empty before the first batch.
      assert mask.sum() == expected and not mask[:8 - expected].any()
      values = tree.map_structure(lambda t: t.numpy(), batch.unrolls)
      for row in range(8):
        i = index_of(tree.map_structure(lambda x, r=row: x[r], values))
        if mask[row]:
          assert i < seen, 'replayed an unroll the buffer did not yet hold'
          replayed_seen += 1
        else:
          assert i == seen, 'fresh unrolls come in queue order'
          seen += 1
  finally:
    queue.close(cancel_pending_enqueues=True)
    prefetcher.close()
  assert (seen, replayed_seen) == (32, 24)
  assert buffer.added >= 32  # And the batches prefetched ahead.


def test_only_fresh_frames_count():
  spec, agent = cue_agent()
  config = configuration.build(level_name='synthetic/dmlab', network='shallow', unroll_length=4,
                               batch_size=8, num_action_repeats=1)
  learner = learner_lib.Learner(agent, config)
  _, unrolls = unroll_batch(spec, agent, 8, np.random.default_rng(0))
  replayed = np.arange(8) >= 5
  terms = learner.train_step(prefetch.Batch(unrolls, replayed))
  assert int(learner.num_env_frames.numpy()) == 5 * 4  # 5 fresh unrolls of 4 steps of 1 frame.
  assert float(terms['replayed_share']) == pytest.approx(3 / 8)
  for name in ('mean_abs_log_rho_fresh', 'mean_abs_log_rho_replayed'):
    assert float(terms[name]) > 0  # Random behaviour logits: far from the agent's policy.


def test_the_memory_estimate_is_the_buffers_and_too_large_a_buffer_is_refused(tmp_path):
  config = configuration.resolve(dict(logdir=str(tmp_path), level_name='atari/pong',
                                      replay_proportion=0.5, replay_buffer_size=2000))
  spec = environments.environment_spec('atari/pong', config.env_config)
  agent = agents.build_agent(config, spec)
  example = trajectories.unroll_example(agent, spec, config.unroll_length)
  buffer = replay.ReplayBuffer(example, 3)
  assert buffer.bytes_per_unroll == replay.unroll_nbytes(example) > 21 * 84 * 84 * 4
  unbuilt = networks.build_agent(config.network, spec.num_actions, config.use_lstm, False)
  assert replay.unroll_nbytes(trajectories.unroll_example(unbuilt, spec, 20)) == buffer.bytes_per_unroll
  with pytest.raises(ValueError, match=r'--replay_buffer_size=10000: the buffer would take 5\.5 GiB '
                                       r'.* has 4\.0 GiB available'):
    replay.check_memory(example, 10_000, available=4 * 2**30)
  replay.check_memory(example, 10_000, available=16 * 2**30)


@pytest.mark.parametrize('given,message', [
    (dict(replay_proportion=1.5), r'--replay_proportion must be in \[0, 1\), got 1.5'),
    (dict(replay_proportion=-0.1), r'--replay_proportion must be in \[0, 1\)'),
    (dict(replay_proportion=0.5, replay_buffer_size=0), '--replay_buffer_size must be positive'),
    (dict(replay_proportion=0.5, replay_buffer_size=-1), '--replay_buffer_size must be >= 0'),
    (dict(replay_proportion=0.2, batch_size=2), 'rounds to no replayed unroll'),
    (dict(replay_proportion=0.5, agent='a3c'), 'replay is for --agent=impala'),
    (dict(replay_proportion=0.5, batch_size=8, replay_buffer_size=3), 'cannot hold'),
])
def test_bad_replay_flags_are_refused(given, message):
  with pytest.raises(ValueError, match=message):
    configuration.build(**given)


def test_impala_learns_the_cue_task_with_half_of_each_batch_replayed(tmp_path):
  config = dataclasses.replace(cue_config(tmp_path), replay_proportion=0.5, replay_buffer_size=200,
                               total_environment_frames=8_000)
  frames = experiment.train(config, env_factory=make_cue_environment)
  assert frames == 8_000  # Fresh frames only: replay does not advance the counter.
  returns = episode_returns(tmp_path)
  learned = np.mean(returns[-40:])
  assert learned > 8.5, f'mean return {learned:.2f} of 10 at the end; random play gets 3.3'
  # Episodes of 10 frames: a replayed unroll's episodes are not logged again.
  assert len(returns) <= 8_000 // 10
