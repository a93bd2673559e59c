"""One learner over several devices (the paper's synchronous learners, Figure 1 right), with
tf.distribute.

`--learner_replicas=N` trains under Sonnet's `snt.distribute.Replicator`, a
`tf.distribute.MirroredStrategy` whose variables are replica-local: every replica holds the weights,
the optimiser's slots, the frame counter and the learning rate. Each replica takes B/N of the batch
(prefetch puts each shard on its device ahead of the step), the gradients are summed across replicas
(the loss is a sum over the batch, so the sum is the whole batch's gradient), and every replica then
applies that same update to its copy: N replicas compute the update one device computes on the whole
batch, up to float rounding. Sonnet's optimisers support only this strategy among the mirrored ones.
With GPUs visible the replicas are GPUs; without, N logical CPU devices, so the path runs anywhere.
"""
from absl import logging
import sonnet as snt
import tensorflow as tf
import tree


def configure_devices(num_replicas):
  """Splits the CPU into `num_replicas` logical devices when no GPU is visible. Call it before
  TensorFlow runs anything; a process already set up with enough devices is left as it is."""
  if num_replicas <= 1 or tf.config.list_physical_devices('GPU'):
    return
  cpu = tf.config.list_physical_devices('CPU')[0]
  try:
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_replicas)
  except RuntimeError:  # TensorFlow is already initialised: see whether its devices will do.
    if len(tf.config.list_logical_devices('CPU')) < num_replicas:
      raise


def replica_devices(num_replicas):
  """The devices of `num_replicas` replicas: the first GPUs, or else logical CPUs."""
  gpus = tf.config.list_logical_devices('GPU')
  devices = gpus if gpus else tf.config.list_logical_devices('CPU')
  if len(devices) < num_replicas:
    kind = 'GPUs' if gpus else 'logical CPU devices (runtime.replicas.configure_devices)'
    raise ValueError(f'--learner_replicas={num_replicas}: only {len(devices)} {kind} visible')
  return [device.name for device in devices[:num_replicas]]


# One strategy for a set of devices in a process: two would number their all-reduces alike, and
# TensorFlow's collective ops then mix up the two (a second run or test in the same process).
_STRATEGIES = {}


def make_strategy(num_replicas):
  """The learner's strategy, or None for one replica (the single-device path)."""
  if num_replicas == 1:
    return None
  devices = tuple(replica_devices(num_replicas))
  logging.info('Learner: %d replicas, on %s.', num_replicas, ', '.join(devices))
  if devices not in _STRATEGIES:
    _STRATEGIES[devices] = snt.distribute.Replicator(devices)
  return _STRATEGIES[devices]


def sum_over_replicas(values):
  """The sum of a nest of tensors over the replicas, in a replica's step (itself with none)."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return values
  return context.all_reduce(tf.distribute.ReduceOp.SUM, values)


def distribute(strategy, batch):
  """A nest of [B, ...] tensors as per-replica shards of B/N, each copied to its replica's device."""
  devices = strategy.extended.worker_devices
  leaves = [tf.split(t, len(devices)) for t in tree.flatten(batch)]  # Each leaf split once.
  shards = []
  for i, device in enumerate(devices):
    with tf.device(device):
      shards.append(tree.unflatten_as(batch, [tf.identity(parts[i]) for parts in leaves]))
  return strategy.experimental_distribute_values_from_function(
      lambda context: shards[context.replica_id_in_sync_group])


def combine_terms(strategy, per_replica_terms):
  """The replicas' loss terms as the whole batch's: losses summed, maxima maximised, the rest (equal
  on every replica, or means over equal shards) averaged."""
  local = strategy.experimental_local_results(per_replica_terms)
  combined = {}
  for name in local[0]:
    values = tf.stack([terms[name] for terms in local])
    if name.endswith('_loss'):
      combined[name] = tf.reduce_sum(values)
    elif name.startswith('max_'):
      combined[name] = tf.reduce_max(values)
    else:
      combined[name] = tf.reduce_mean(values)
  return combined

