"""Large arrays from an environment process to its parent through shared memory, not the pipe.

Pickling a frame and pushing it through a socket cost more than the Atari step that made it.
"""
import mmap
import os
import tempfile

import numpy as np
import tree


class _SharedArray:
  """Stands in a pickled answer for an array that the child wrote to the shared memory file."""
  __slots__ = ('offset', 'shape', 'dtype')

  def __init__(self, offset, shape, dtype):
    self.offset, self.shape, self.dtype = offset, shape, dtype


class SharedArrays:
  """A shared memory file through which the child hands the parent the large arrays of an answer.

  The parent creates it (an anonymous memfd on Linux, an unlinked temporary file elsewhere, so nothing
  is left behind however the processes end) and passes its descriptor to the child. For each answer
  the child writes its arrays of `MIN_BYTES` or more from offset 0 on and sends small stand-ins; the
  parent copies them out before it sends the next call, which is the next time the child writes.
  Arrays that do not fit (beyond `CAPACITY`, which costs memory only where written) travel pickled.
  """
  CAPACITY = 64 << 20
  MIN_BYTES = 4096
  ALIGNMENT = 64  # Each array starts on a cache line.

  def __init__(self, fd=None):
    if fd is None:
      if hasattr(os, 'memfd_create'):
        fd = os.memfd_create('impala-environment')
      else:
        with tempfile.TemporaryFile() as f:
          fd = os.dup(f.fileno())
      os.ftruncate(fd, self.CAPACITY)
    self.fd = fd
    self._memory = mmap.mmap(fd, self.CAPACITY)

  def share(self, value):
    """(Child) `value` with its large arrays written here and replaced by stand-ins."""
    end = 0

    def write(leaf):
      nonlocal end
      if not isinstance(leaf, np.ndarray) or leaf.nbytes < self.MIN_BYTES or leaf.dtype.hasobject:
        return leaf
      offset = -(-end // self.ALIGNMENT) * self.ALIGNMENT
      if offset + leaf.nbytes > self.CAPACITY:
        return leaf
      end = offset + leaf.nbytes
      np.frombuffer(self._memory, leaf.dtype, leaf.size, offset).reshape(leaf.shape)[...] = leaf
      return _SharedArray(offset, leaf.shape, leaf.dtype.str)
    return tree.map_structure(write, value)

  def take(self, value):
    """(Parent) `value` with the stand-ins replaced by copies of their arrays."""
    def read(leaf):
      if not isinstance(leaf, _SharedArray):
        return leaf
      dtype = np.dtype(leaf.dtype)
      size = int(np.prod(leaf.shape))
      return np.frombuffer(self._memory, dtype, size, leaf.offset).reshape(leaf.shape).copy()
    return tree.map_structure(read, value)

  def close(self):
    if self.fd is not None:  # Safe to call more than once.
      self._memory.close()
      os.close(self.fd)
      self.fd = None
