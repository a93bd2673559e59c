"""Training on one machine: environment processes, the actor pool, the trajectory queue, prefetch and
the learner in this process (IMPALA, and batched A2C with its synchronous actors)."""
import time

import environments
from runtime import acting
from runtime import learner as learner_lib
from runtime import prefetch
from runtime import progress
from runtime import replay
from runtime import replicas
from runtime import run_config
from runtime import trajectories
from runtime import training_loop


def train(config, env_factory=environments.create_environment, stats=None):
  """Trains until `total_environment_frames`, a signal, or a failure; returns the frames trained.

  `stats`: see training_loop.run_learner; also gets the batched inference's mean batch size, the
  seconds actors spent waiting for it, the number of actor threads and how long they ran, and
  'unrolls_enqueued', a function counting the unrolls the actors have made so far.
  """
  stats = {} if stats is None else stats
  run_config.write(config)
  groups = acting.start_environments(config, range(config.num_actors), is_test=False,
                                     env_factory=env_factory)
  stop = progress.Stop()
  restore_signals = progress.handle_signals(stop)
  pool = trajectory_queue = prefetcher = None
  try:
    env_spec = groups[0].process.spec
    strategy = replicas.make_strategy(config.learner_replicas)
    # With several replicas the queue stays in host memory; prefetch copies each its shard.
    device = '/device:CPU:0' if strategy else learner_lib.learner_device()
    agent, learner, checkpoints = learner_lib.learner_setup(config, env_spec, device, strategy)
    example = trajectories.unroll_example(agent, env_spec, config.unroll_length)
    trajectory_queue = trajectories.make_trajectory_queue(example, config.batch_size, device)
    synchronous = config.synchronous_actors
    pool = acting.ActorPool(config, groups, agent, env_spec, trajectory_queue.enqueue_many, stop,
                            synchronous=synchronous)
    pool_start = time.monotonic()
    stats['unrolls_enqueued'] = lambda: pool.unrolls_enqueued
    prefetcher = prefetch.Prefetcher(trajectory_queue, example, config.batch_size,
                                     None if strategy else device, *replay.make_buffer(config, example),
                                     strategy=strategy)
    frames = training_loop.run_learner(
        config, learner, prefetcher, checkpoints, stop,
        after_step=pool.learner_stepped if synchronous else None,
        describe=lambda: f' | batching {pool.inference.mean_batch_size:.1f}', stats=stats)
  finally:
    stop.event.set()
    if trajectory_queue is not None:
      trajectory_queue.close(cancel_pending_enqueues=True)  # Frees actors waiting to enqueue.
    if prefetcher is not None:
      prefetcher.close()
    if pool is not None:
      pool.close()
      stats.update(inference_mean_batch=pool.inference.mean_batch_size,
                   inference_wait_seconds=pool.inference.wait_seconds,
                   actor_threads=len(pool.threads), actor_seconds=time.monotonic() - pool_start)
    restore_signals()
    acting.close_environments(groups)
  if stop.error is not None:
    raise stop.error
  return frames
