"""Prefetch: batches taken off the trajectory queue one ahead of the learner, onto its device (the
role of the original's StagingArea), with replayed unrolls mixed in when replay is on."""
import collections
import queue as py_queue
import threading
import time

from absl import logging
import numpy as np
import tensorflow as tf
import tree

from runtime import replicas
from runtime import trajectories

# unrolls: an Unroll nest of [B, ...] tensors; replayed: bool [B], which came from the replay buffer.
Batch = collections.namedtuple('Batch', 'unrolls replayed')
# step_input: what the training step takes (a Batch on the learner's device, or per replica);
# batch: the same Batch, for the progress monitor to read.
Prefetched = collections.namedtuple('Prefetched', 'step_input batch')


def batch_signature(example, batch_size):
  """The TensorSpecs of a Batch of `batch_size` unrolls shaped as `example`."""
  return Batch(trajectories.batch_signature(example, batch_size),
               tf.TensorSpec([batch_size], tf.bool))


def fresh_batch(unrolls):
  """A Batch of unrolls ([B, ...] leaves) none of which was replayed."""
  return Batch(unrolls, np.zeros(len(tree.flatten(unrolls)[0]), bool))


class Prefetcher:
  """A thread that makes batches of `batch_size` unrolls and copies them to `device`, one batch ahead
  of the learner.

  Without a replay buffer every unroll is fresh from the queue. With one (runtime.replay), a batch
  takes `replayed` unrolls from the buffer and the rest fresh, once the buffer holds that many;
  before, all are fresh. The fresh unrolls then enter the buffer.
  """

  def __init__(self, trajectory_queue, structure, batch_size, device, replay_buffer=None, replayed=0,
               strategy=None):
    self._queue = trajectory_queue
    self.structure = structure  # A nest of one unroll's values (an Unroll example).
    self._batch_size = batch_size
    self.device = device
    self.strategy = strategy  # Several replicas (runtime.replicas): a shard on each's device.
    self.replay_buffer = replay_buffer
    self._replayed = replayed if replay_buffer is not None else 0
    self._replaying = False
    self._batches = py_queue.Queue(maxsize=1)
    self._closed = threading.Event()
    self.wait_seconds = 0.  # How long `get` waited for batches, in all.
    self._thread = threading.Thread(target=self._run, name='prefetch', daemon=True)
    self._thread.start()

  def _next_flat_batch(self):
    """The next batch's leaves, replayed unrolls last, and how many of them were replayed."""
    buffer = self.replay_buffer
    if buffer is None:
      return self._queue.dequeue_many(self._batch_size), 0
    replayed = self._replayed if buffer.size >= self._replayed else 0
    if replayed and not self._replaying:
      self._replaying = True
      logging.info('The replay buffer holds %d unrolls: batches now replay %d of their %d.',
                   buffer.size, replayed, self._batch_size)
    old = buffer.sample(replayed) if replayed else None  # Before adding: never a fresh unroll twice.
    fresh = [t.numpy() for t in self._queue.dequeue_many(self._batch_size - replayed)]
    buffer.add(fresh)
    if old is None:
      return fresh, 0
    return [np.concatenate(parts) for parts in zip(fresh, old)], replayed

  def _run(self):
    try:
      while not self._closed.is_set():
        flat, replayed = self._next_flat_batch()
        mask = np.arange(self._batch_size) >= self._batch_size - replayed
        if self.strategy is not None:
          batch = Batch(tree.unflatten_as(self.structure, flat), mask)
          self._put(Prefetched(replicas.distribute(self.strategy, batch), batch))
          continue
        with tf.device(self.device):
          flat = [tf.identity(t) for t in flat]
          mask = tf.constant(mask)
        batch = Batch(tree.unflatten_as(self.structure, flat), mask)
        self._put(Prefetched(batch, batch))
    except (tf.errors.OutOfRangeError, tf.errors.CancelledError):
      self._put(None)  # The queue was closed.
    except Exception as error:  # pylint: disable=broad-except
      self._put(error)  # Raised in the learner by `get`, not lost with this thread.

  def _put(self, batch):
    while not self._closed.is_set():
      try:
        return self._batches.put(batch, timeout=0.5)
      except py_queue.Full:
        pass

  def close(self):
    """Ends the thread, which would otherwise hold the queue (and its shared name); close the queue
    first, to end a dequeue that waits for unrolls."""
    self._closed.set()
    self._thread.join()

  def get(self, stop_event):
    """The next Prefetched batch, or None once the queue is closed or `stop_event` is set."""
    start = time.monotonic()
    batch = None
    while not stop_event.is_set():
      try:
        batch = self._batches.get(timeout=0.5)
        break
      except py_queue.Empty:
        pass
    self.wait_seconds += time.monotonic() - start
    if isinstance(batch, Exception):
      raise batch
    return batch
