"""The learner's loop: train on prefetched batches until the frame budget or a stop, reporting and
checkpointing as it goes."""
import time

from absl import logging
import numpy as np
import tensorflow as tf
import tree

from runtime import hyperparameters
from runtime import progress

POLL_SECONDS = 1.  # How often a population member looks for its controller's decision.


def run_learner(config, learner, batches, checkpoints, stop, after_step=None, describe=None,
                stats=None):
  """Trains `learner` on `batches` (a Prefetcher) until the frame budget or `stop`; returns the frames.

  checkpoints: the learner's tf.train.CheckpointManager; one is written every `checkpoint_secs` and at
  the end. With `config.hyperparameter_directives` (a population member), the learner applies its
  controller's decisions between steps. after_step: called after each update (batched A2C's actors
  wait for it; the cluster's learner publishes its weights). describe: more for the progress line.
  `stats`, a dict if given, receives timings for benchmarks: steps, frames and times from the first
  batch on, the seconds spent in training steps, and the seconds the learner waited for data. The
  caller closes the queue.
  """
  stats = {} if stats is None else stats
  train_step = learner.compiled_step(batches.structure, config.batch_size)
  writer = tf.summary.create_file_writer(config.logdir)
  monitor = progress.Monitor(config, writer)
  last_checkpoint = last_poll = time.monotonic()
  member = (hyperparameters.MemberLink(config.logdir, learner, checkpoints)
            if config.hyperparameter_directives else None)
  steps = 0
  try:
    while not stop.event.is_set() and (
        int(learner.num_env_frames.numpy()) < config.total_environment_frames):
      prefetched = batches.get(stop.event)
      if prefetched is None:
        break
      batch = prefetched.batch
      step_start = time.monotonic()
      with tf.device(batches.device):
        terms = train_step(prefetched.step_input)
      frames = int(learner.num_env_frames.numpy())  # Waits for the step to finish.
      if steps == 0:  # Timings start after the first step, which traces the training function.
        stats.update(first_frames=frames, first_time=time.monotonic(), train_seconds=0.,
                     wait_seconds_at_first=batches.wait_seconds)
      else:
        stats['train_seconds'] += time.monotonic() - step_start
      if after_step is not None:
        after_step()
      steps += 1
      fresh = fresh_unrolls(batch)  # Replayed unrolls' episodes were counted when they were fresh.
      monitor.actors(fresh)
      monitor.episodes(fresh, frames)
      if batches.replay_buffer is not None:
        terms = dict(terms, **replay_summaries(batches.replay_buffer))
      details = describe() if describe is not None else ''
      monitor.report(frames, steps, terms,
                     extra=f'{details} | learner waited {batches.wait_seconds:.0f}s',
                     summaries=learner.summaries)
      if member is not None and time.monotonic() - last_poll > POLL_SECONDS:
        member.poll()
        last_poll = time.monotonic()
      if time.monotonic() - last_checkpoint > config.checkpoint_secs:
        save_checkpoint(checkpoints, frames, config.logdir)
        last_checkpoint = time.monotonic()
  finally:
    stats.update(steps=steps, frames=int(learner.num_env_frames.numpy()), last_time=time.monotonic(),
                 learner_wait_seconds=batches.wait_seconds - stats.get('wait_seconds_at_first', 0.))
    stop.event.set()
    frames = int(learner.num_env_frames.numpy())
    save_checkpoint(checkpoints, frames, config.logdir)
    monitor.close()
    writer.close()
  return frames


def save_checkpoint(checkpoints, frames, logdir):
  """Writes the checkpoint at `frames`, unless the latest is at `frames` already: the frame counter
  moves with every training step, so nothing was trained since (a run's last checkpoint right after
  a periodic one)."""
  if (checkpoints.latest_checkpoint or '').endswith(f'-{frames}'):
    return
  checkpoints.save(checkpoint_number=frames)
  logging.info('Saved checkpoint at %d frames to %s.', frames, logdir)


def fresh_unrolls(batch):
  """What the monitor reads (actors, levels, episode ends and returns) of the batch's unrolls that
  came from the actors, as NumPy values: not the frames, which would cost a copy every step."""
  unrolls = batch.unrolls
  read = unrolls._replace(agent_state=(), agent_outputs=(), env_outputs=unrolls.env_outputs._replace(
      reward=(), observation=()))
  fresh = ~np.asarray(batch.replayed)
  return tree.map_structure(lambda t: np.asarray(t)[fresh], read)


def replay_summaries(buffer):
  return {'replay_buffer_fill': buffer.size / buffer.capacity,
          'replay_bytes_per_unroll': float(buffer.bytes_per_unroll)}
