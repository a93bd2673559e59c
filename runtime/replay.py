"""Experience replay (paper section 5.2.2, Table D.3): a FIFO buffer of whole unrolls, sampled uniformly.

Each learner batch takes `replay_proportion` of its unrolls from the buffer (rounded to whole unrolls,
`replayed_per_batch`) and the rest fresh from the actors; every fresh unroll then enters the buffer,
the oldest leaving once it is full. Until the buffer holds a batch's share, batches are fresh only.
Replayed unrolls keep their behaviour logits and initial core state, so every correction applies to
them as to fresh ones. The buffer lives in the learner's memory and is not checkpointed.
"""
import threading

from absl import logging
import numpy as np
import tree

import environments
from runtime import agents
from runtime import levels as levels_lib
from runtime import trajectories

# What an instruction string costs in an object array: the pointer and a short bytes object.
_STRING_BYTES = 8 + 64


def replayed_per_batch(replay_proportion, batch_size):
  """The replayed unrolls of each batch: the proportion of the batch, rounded to the nearest whole
  unroll (halves to even), and at most batch_size - 1, so that every batch brings fresh data."""
  return min(int(round(replay_proportion * batch_size)), batch_size - 1)


def check_settings(values):
  """Refuses replay settings ({flag name: value}) that cannot work, naming the flag."""
  proportion, size = values['replay_proportion'], values['replay_buffer_size']
  if proportion == 0:
    return
  if size == 0:
    raise ValueError(f'--replay_proportion={proportion} needs a buffer: --replay_buffer_size must be '
                     'positive')
  replayed = replayed_per_batch(proportion, values['batch_size'])
  if replayed == 0:
    raise ValueError(f'--replay_proportion={proportion} of --batch_size={values["batch_size"]} rounds '
                     'to no replayed unroll a batch: give a larger proportion or batch')
  if size < replayed:
    raise ValueError(f'--replay_buffer_size={size} cannot hold a batch\'s {replayed} replayed unrolls')


def unroll_nbytes(example):
  """Bytes one unroll (a nest of NumPy values) takes in the buffer."""
  return sum(_STRING_BYTES * x.size if x.dtype == object else x.nbytes
             for x in tree.flatten(example))


def available_memory_bytes():
  """MemAvailable from /proc/meminfo: what the machine can give without swapping; None elsewhere."""
  try:
    with open('/proc/meminfo') as f:
      for line in f:
        if line.startswith('MemAvailable:'):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  return None


def check_memory(example, capacity, available=None):
  """ValueError, with the estimate and the available memory, if `capacity` unrolls like `example`
  would not fit in the memory the machine has available (leaving it a quarter)."""
  available = available_memory_bytes() if available is None else available
  needed = unroll_nbytes(example) * capacity
  if available is not None and needed > 0.75 * available:
    raise ValueError(
        f'--replay_buffer_size={capacity}: the buffer would take {needed / 2**30:.1f} GiB '
        f'({unroll_nbytes(example) / 2**20:.2f} MiB an unroll) and this machine has '
        f'{available / 2**30:.1f} GiB available (the buffer may take 3/4 of it); give a smaller size')


def make_buffer(config, example):
  """(buffer, replayed unrolls a batch) for the Prefetcher: (None, 0) without replay."""
  if config.replay_proportion == 0:
    return None, 0
  buffer = ReplayBuffer(example, config.replay_buffer_size, seed=config.seed)
  replayed = replayed_per_batch(config.replay_proportion, config.batch_size)
  logging.info('Replay: %d of each batch\'s %d unrolls from a buffer of %d (%.2f MiB an unroll).',
               replayed, config.batch_size, config.replay_buffer_size, buffer.bytes_per_unroll / 2**20)
  return buffer, replayed


def check_memory_for(config):
  """check_memory for the unrolls `config`'s actors would send, before anything starts."""
  env_spec = environments.environment_spec(levels_lib.actor_levels(config)[0], config.env_config)
  # The network's modules, without variables: enough for the shapes of its core state and outputs.
  agent = agents.make_agent(config, env_spec)
  check_memory(trajectories.unroll_example(agent, env_spec, config.unroll_length),
               config.replay_buffer_size)


class ReplayBuffer:
  """`capacity` unrolls in preallocated arrays (a ring: the oldest is overwritten), sampled uniformly.

  Unrolls go in and come out as flat lists of NumPy arrays, leaf by leaf as `tree.flatten` of
  `example` orders them; `add` takes a batch of them ([K, ...] leaves), `sample` returns [N, ...].
  """

  def __init__(self, example, capacity, seed=0):
    self.capacity = capacity
    self.bytes_per_unroll = unroll_nbytes(example)
    # np.zeros maps untouched pages lazily: memory grows as the buffer fills.
    self._storage = [np.zeros((capacity,) + x.shape, x.dtype) for x in tree.flatten(example)]
    self._next = 0  # Where the next unroll goes.
    self.size = 0
    self.added = 0  # Unrolls ever added: unroll i sits at slot i % capacity while it is kept.
    self._rng = np.random.default_rng(seed)
    self._lock = threading.Lock()

  def add(self, flat_batch):
    """Stores the K unrolls of a batch, evicting the oldest beyond capacity."""
    count = len(flat_batch[0])
    with self._lock:
      slots = (self._next + np.arange(count)) % self.capacity
      for storage, values in zip(self._storage, flat_batch):
        storage[slots] = values
      self._next = (self._next + count) % self.capacity
      self.size = min(self.capacity, self.size + count)
      self.added += count

  def sample(self, count):
    """`count` unrolls drawn uniformly, with replacement, from those held."""
    with self._lock:
      if self.size == 0:
        raise ValueError('sampling from an empty replay buffer')
      slots = self._rng.integers(self.size, size=count)
      return [storage[slots] for storage in self._storage]
