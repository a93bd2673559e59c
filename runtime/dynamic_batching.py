"""Dynamic batching: concurrent callers' inputs are concatenated and run as one batch.

The original release had a custom TF1 op for this. In eager TF2, `tf.nondifferentiable_batch_function`
does not merge calls made from different Python threads (each call waits out its timeout alone,
measured on TF 2.21), so this module batches in Python instead: a worker thread waits until
`max_batch_size` rows are pending or `timeout_ms` has passed since the oldest request, concatenates
them with NumPy, calls the function once and hands every caller its rows of the result. A caller may
bring several rows at once (an actor thread stepping several environments).
"""
import threading
import time

import numpy as np
import tree


class BatcherClosedError(RuntimeError):
  """Raised to callers of a closed `DynamicBatcher`."""


class _Request:
  __slots__ = ('inputs', 'rows', 'outputs', 'error', 'done')

  def __init__(self, inputs):
    self.inputs = inputs
    self.rows = len(tree.flatten(inputs)[0])
    self.outputs = None
    self.error = None
    self.done = threading.Event()


class _Counted:
  """Counters both inference kinds keep: calls of `fn`, rows, and the callers' seconds waiting."""

  def __init__(self):
    self.num_batches = 0
    self.num_rows = 0
    self.wait_seconds = 0.  # Summed over requests: from submission to result.

  @property
  def mean_batch_size(self):
    """Rows per call of `fn`."""
    return self.num_rows / max(1, self.num_batches)


class DynamicBatcher(_Counted):
  """Calls `fn` on batches made of the inputs that concurrent callers pass.

  Args:
    fn: takes a nest of arrays with a leading batch dimension, returns a nest of arrays (or tensors)
      with the same leading batch dimension.
    max_batch_size: rows in a full batch; set it to the rows all callers bring together.
    timeout_ms: how long the oldest pending request waits for the batch to fill.
  """

  def __init__(self, fn, max_batch_size, timeout_ms=10.):
    if max_batch_size < 1:
      raise ValueError(f'max_batch_size must be >= 1, got {max_batch_size}')
    self._fn = fn
    self._max_batch_size = max_batch_size
    self._timeout = timeout_ms / 1000.
    self._pending = []
    self._pending_rows = 0
    self._condition = threading.Condition()
    self._closed = False
    super().__init__()
    self._thread = threading.Thread(target=self._run, name='dynamic_batching', daemon=True)
    self._thread.start()

  def __call__(self, inputs):
    """Returns `fn`'s outputs for `inputs` (a nest of arrays with a leading batch dimension)."""
    request = _Request(inputs)
    start = time.monotonic()
    with self._condition:
      if self._closed:
        raise BatcherClosedError('the dynamic batcher is closed')
      self._pending.append(request)
      self._pending_rows += request.rows
      if len(self._pending) == 1 or self._pending_rows >= self._max_batch_size:
        self._condition.notify()
    request.done.wait()
    self.wait_seconds += time.monotonic() - start
    if request.error is not None:
      raise request.error
    return request.outputs

  def close(self):
    with self._condition:
      self._closed = True
      self._condition.notify()
    self._thread.join()

  def _next_batch(self):
    """Waits for a full batch or the oldest request's timeout; returns [] once closed and empty."""
    with self._condition:
      while not self._pending and not self._closed:
        self._condition.wait()
      deadline = time.monotonic() + self._timeout
      while self._pending_rows < self._max_batch_size and not self._closed:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
          break
        self._condition.wait(remaining)
      batch, self._pending = self._pending, []
      self._pending_rows = 0
      return batch

  def _run(self):
    while True:
      batch = self._next_batch()
      if not batch:
        return
      try:
        inputs = tree.map_structure(lambda *xs: np.concatenate(xs), *[r.inputs for r in batch])
        outputs = tree.map_structure(np.asarray, self._fn(inputs))
        start = 0
        for request in batch:
          end = start + request.rows
          request.outputs = tree.map_structure(lambda x: x[start:end], outputs)  # pylint: disable=cell-var-from-loop
          start = end
      except Exception as error:  # pylint: disable=broad-except
        for request in batch:
          request.error = error
      self.num_batches += 1
      self.num_rows += sum(r.rows for r in batch)
      for request in batch:
        request.done.set()


class Unbatched(_Counted):
  """The DynamicBatcher's interface without batching across callers: each call runs `fn` at once."""

  def __init__(self, fn):
    super().__init__()
    self._fn = fn
    self._closed = False
    self._lock = threading.Lock()

  def __call__(self, inputs):
    if self._closed:
      raise BatcherClosedError('the inference is closed')
    start = time.monotonic()
    outputs = tree.map_structure(np.asarray, self._fn(inputs))
    with self._lock:
      self.num_batches += 1
      self.num_rows += len(tree.flatten(inputs)[0])
      self.wait_seconds += time.monotonic() - start
    return outputs

  def close(self):
    self._closed = True
