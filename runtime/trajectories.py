"""Unrolls: what actors send the learner, their signatures, the trajectory queue, time-major batches."""
import collections

import numpy as np
import tensorflow as tf
import tree

import environments
from runtime import agents

# level_name and actor (its index) identify where an unroll comes from; agent_state is the core state
# at its start; env_outputs and agent_outputs hold T + 1 steps.
Unroll = collections.namedtuple('Unroll', 'level_name actor agent_state env_outputs agent_outputs')

# Resources the learner shares by name live in this container: under connect_to_cluster the default
# one is per eager context, and actor tasks must find the learner's.
CONTAINER = 'impala'


def example_env_output(env_spec):
  """One environment's StepOutput as an EnvironmentGroup gives it (`environments.process.stack_outputs`)
  but without the group's leading axis: NumPy values, instructions as UTF-8 bytes."""
  observation = {'frame': np.zeros(env_spec.frame_shape, np.uint8)}
  if env_spec.has_instruction:
    observation['instruction'] = np.array(b'', object)
  return environments.StepOutput(
      reward=np.float32(0), info=environments.StepOutputInfo(np.float32(0), np.int32(0)),
      done=np.bool_(True), observation=observation)


def without_info(env_output):
  return env_output._replace(info=())  # The network does not read it.


def unroll_example(agent, env_spec, unroll_length):
  """An Unroll of NumPy zeros, for the trajectory queue's and the learner's signatures."""
  steps = unroll_length + 1
  env_outputs = tree.map_structure(lambda x: np.stack([x] * steps), example_env_output(env_spec))
  agent_outputs = tree.map_structure(lambda x: np.stack([x] * steps), agents.actor_first_output(agent))
  return Unroll(np.array(b'', object), np.int32(0), agents.actor_initial_state(agent), env_outputs,
                agent_outputs)


def tensor_spec(value, batch_dims=()):
  """The TensorSpec of a NumPy value (object arrays hold strings), with leading `batch_dims`."""
  dtype = tf.string if value.dtype == object else tf.as_dtype(value.dtype)
  return tf.TensorSpec(tuple(batch_dims) + value.shape, dtype)


def batch_signature(example, batch_size):
  """TensorSpecs of a batch of `batch_size` values shaped as the nest of NumPy values `example`."""
  return tree.map_structure(lambda x: tensor_spec(x, [batch_size]), example)


def stack(nests, axis=0):
  """Nests of NumPy values stacked leaf by leaf along a new `axis`."""
  return tree.map_structure(lambda *xs: np.stack(xs, axis=axis), *nests)


def concatenate(nests):
  """Nests of NumPy values [K_i, ...] joined leaf by leaf into [sum K_i, ...]."""
  if len(nests) == 1:
    return nests[0]
  return tree.map_structure(lambda *xs: np.concatenate(xs), *nests)


def make_trajectory_queue(example, capacity, device):
  """The bounded queue of unrolls on `device`; processes share it by its name."""
  flat = tree.flatten(example)
  dtypes = [tensor_spec(x).dtype for x in flat]
  shapes = [x.shape for x in flat]
  with tf.device(device):
    ref = tf.raw_ops.FIFOQueueV2(component_types=dtypes, shapes=shapes, capacity=capacity,
                                 container=CONTAINER, shared_name='trajectories')
  return tf.queue.QueueBase(dtypes, shapes, None, ref)


def time_major(batch):
  """An Unroll batch [B, T + 1, ...] as tensors, its env and agent outputs [T + 1, B, ...]."""
  batch = tree.map_structure(tf.convert_to_tensor, batch)
  return batch._replace(env_outputs=swap_time_and_batch(batch.env_outputs),
                        agent_outputs=swap_time_and_batch(batch.agent_outputs))


def swap_time_and_batch(nest):
  """[B, T, ...] to [T, B, ...] for every tensor of a nest."""
  return tree.map_structure(lambda t: tf.transpose(t, [1, 0] + list(range(2, t.shape.rank))), nest)
