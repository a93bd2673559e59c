"""The learner: optimiser, annealed learning rate, frame counter and training step; its checkpoints."""
from absl import logging
import sonnet as snt
import tensorflow as tf

from runtime import agents
from runtime import hyperparameters as hyperparameters_lib
from runtime import losses
from runtime import popart as popart_lib
from runtime import prefetch
from runtime import replicas
from runtime import trajectories


def learner_device():
  """The learner trains on a GPU when one is visible, otherwise on the CPU."""
  return '/device:GPU:0' if tf.config.list_logical_devices('GPU') else '/device:CPU:0'


def make_optimizer(config, learning_rate, variables, epsilon=None):
  """The learner's optimiser for `variables`, its slots created now so that checkpoints restore there.

  RMSProp as TF1's RMSPropOptimizer, the original's: epsilon inside the square root and the mean
  square starting at 1; `epsilon` (a variable PBT evolves) or config's. Adam as Kingma & Ba (Sonnet's),
  with its step count starting at 0.
  """
  if config.optimizer == 'adam':
    optimizer = snt.optimizers.Adam(learning_rate=learning_rate, epsilon=config.adam_epsilon)
  else:
    optimizer = snt.optimizers.RMSProp(learning_rate=learning_rate, decay=config.decay,
                                       momentum=config.momentum,
                                       epsilon=config.epsilon if epsilon is None else epsilon)
  optimizer.apply([tf.zeros_like(v) for v in variables], variables)  # Moves no weight.
  if config.optimizer == 'adam':
    optimizer.step.assign(0)
  else:
    for ms in optimizer.ms:
      ms.assign(tf.ones_like(ms))
  return optimizer


class Learner:
  """The V-trace loss, the optimiser and the frame counter, with a linearly annealed learning rate;
  the hyperparameters PBT evolves are variables (runtime.hyperparameters). With --popart, the loss
  also updates the agent's PopArt statistics (runtime.popart)."""

  def __init__(self, agent, config, strategy=None):
    self.agent = agent
    self._config = config
    self.strategy = strategy  # runtime.replicas: None on one device.
    self.num_env_frames = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_env_frames')
    self.hyperparameters = hyperparameters_lib.Hyperparameters(config)
    self.learning_rate = tf.Variable(config.learning_rate, dtype=tf.float32, trainable=False)
    self.optimizer = make_optimizer(config, self.learning_rate, agent.trainable_variables,
                                    self.hyperparameters.epsilon)
    self.popart = popart_lib.PopArt(config) if config.popart else None

  def update_learning_rate(self):
    progress = tf.cast(self.num_env_frames, tf.float32) / float(self._config.total_environment_frames)
    self.learning_rate.assign(self.hyperparameters.learning_rate * tf.maximum(0., 1. - progress))

  def loss(self, batch, agent=None, replayed=None):
    """The IMPALA loss on a time-major batch of the learner's agent, or of `agent` (A3C's threads
    pass their local copies); returns (total, dict of its terms). replayed: see losses.impala_loss."""
    return losses.impala_loss(self.agent if agent is None else agent, batch, self._config, replayed,
                              entropy_cost=self.hyperparameters.entropy_cost, popart=self.popart)

  def summaries(self):
    """Scalars for TensorBoard beside the loss terms: each task's PopArt mean and scale."""
    return {} if self.popart is None else self.popart.statistics(self.agent.value_head)

  def train_step(self, batch):
    """One update on a prefetch.Batch (unrolls [B, T + 1, ...]); returns the loss terms. Only the
    fresh unrolls' frames count."""
    unrolls = trajectories.time_major(batch.unrolls)
    with tf.GradientTape() as tape:
      total, terms = self.loss(unrolls, replayed=batch.replayed)
    # With several replicas, each holds part of the batch: the sums make every replica apply the
    # whole batch's gradient (and clip by its norm) and count the whole batch's frames.
    gradients = replicas.sum_over_replicas(tape.gradient(total, self.agent.trainable_variables))
    if self.strategy is not None:
      # Replica-local variables have no sparse updates: the instruction embedding's gradient is
      # applied dense, so RMSProp's mean square also decays for the words absent from the batch.
      gradients = [tf.convert_to_tensor(g) for g in gradients]
    fresh = replicas.sum_over_replicas(tf.reduce_sum(tf.cast(~batch.replayed, tf.int64)))
    frames = fresh * self._config.unroll_length * self._config.num_action_repeats
    terms.update(self.apply_gradients(gradients, frames))
    return terms

  def compiled_step(self, example, batch_size):
    """train_step as a tf.function on prefetched step inputs of unrolls like `example`; with several
    replicas, run on each and its terms combined into the whole batch's."""
    if self.strategy is None:
      return tf.function(self.train_step,
                         input_signature=[prefetch.batch_signature(example, batch_size)])
    strategy = self.strategy
    return tf.function(lambda batch: replicas.combine_terms(
        strategy, strategy.run(self.train_step, args=(batch,))))

  def apply_gradients(self, gradients, frames=None):
    """Clips `gradients` (of the agent's trainable variables), applies them, and counts `frames`,
    by default a whole batch's."""
    self.update_learning_rate()
    terms = {'gradient_norm': tf.linalg.global_norm(gradients)}
    if self._config.gradient_clip_norm > 0:  # The threshold may evolve (PBT), but never to 0.
      gradients, _ = tf.clip_by_global_norm(gradients, self.hyperparameters.gradient_clip_norm,
                                            use_norm=terms['gradient_norm'])
    self.optimizer.apply(gradients, self.agent.trainable_variables)
    self.num_env_frames.assign_add(self._config.frames_per_step if frames is None else frames)
    terms['learning_rate'] = self.learning_rate.read_value()
    return terms


def make_checkpoint(agent, learner=None, **tracked):
  """Weights; with a learner also its optimiser state and frame counter, and any `tracked` objects."""
  if learner is None:
    return tf.train.Checkpoint(agent=agent)
  return tf.train.Checkpoint(agent=agent, optimizer=learner.optimizer,
                             num_env_frames=learner.num_env_frames,
                             hyperparameters=learner.hyperparameters, **tracked)


def learner_setup(config, env_spec, device, strategy=None, **tracked):
  """The agent, the learner and its checkpoint manager, restored from the logdir when it has one.

  strategy: several replicas' (runtime.replicas), whose variables it creates; else on `device`.
  `tracked`: more objects to checkpoint (a Q-learning agent's target network).
  """
  with strategy.scope() if strategy else tf.device(device):
    agent = agents.build_agent(config, env_spec)
    learner = Learner(agent, config, strategy)
  checkpoint = make_checkpoint(agent, learner, **tracked)
  manager = tf.train.CheckpointManager(
      checkpoint, config.logdir, max_to_keep=3,
      keep_checkpoint_every_n_hours=config.keep_checkpoint_every_n_hours or None)
  if manager.latest_checkpoint:
    status = checkpoint.restore(manager.latest_checkpoint)
    if any(name.startswith('hyperparameters/')
           for name, _ in tf.train.list_variables(manager.latest_checkpoint)):
      status.assert_consumed()
    else:  # Written before checkpoints kept the hyperparameters: the rest restores, the flags' apply.
      status.expect_partial()
      logging.warning('%s holds no hyperparameters (an older checkpoint): training with the flags\'.',
                      manager.latest_checkpoint)
    logging.info('Restored %s at %d frames.', manager.latest_checkpoint,
                 int(learner.num_env_frames.numpy()))
    if not config.hyperparameter_directives:
      # A resumed run trains with the hyperparameters given now; one whose controller directs them
      # (a population member) keeps those it applied (its flags are the values it started with).
      learner.hyperparameters.assign({name: getattr(config, name)
                                      for name in hyperparameters_lib.EVOLVED})
  return agent, learner, manager
