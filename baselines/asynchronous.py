"""Asynchronous actor-learner threads (Mnih et al. 2016): A3C and the asynchronous value-based methods.

    python experiment.py --agent=a3c --level_name=atari/pong --num_actors=16

Each of `num_actors` threads plays one environment (in a process of its own, as IMPALA's actors do)
with a local copy of the shared weights. A thread copies the shared weights, acts `unroll_length`
steps (t_max), takes the gradient of its loss over those steps with its copy and applies it to the
shared weights with the shared RMSProp, whose statistics all threads share, without a lock; then it
copies the weights again. Gradients are so accumulated over t_max steps before each update (the
one-step methods' I_AsyncUpdate is t_max too). The paper's threads also stop an unroll where an
episode ends; here the returns stop there (discount 0) and the next episode's first steps fill the
unroll, which changes how many steps an update holds, not its targets.

- a3c: the advantage actor-critic with n-step forward-view returns bootstrapped from V and the entropy
  bonus, which is IMPALA's loss on on-policy data (runtime.losses.impala_loss, correction 'none').
- one_step_q, one_step_sarsa, n_step_q (q_learning.py): a target network copied from the shared weights
  every `target_update_frames`, and epsilon-greedy actions, each thread annealing epsilon from 1 to a
  final value of its own over `exploration_anneal_frames`.

Checkpoints (shared weights, RMSProp statistics, frame counter, the target network), summaries, the
episode log and test mode are IMPALA's. Everything runs on the CPU, as in the A3C paper.
"""
import logging as logging_lib
import threading
import time

from absl import logging
import numpy as np
import tensorflow as tf

from baselines import q_learning
from baselines import settings as baseline_settings
import environments
from runtime import acting
from runtime import agents
from runtime import dynamic_batching
from runtime import levels as levels_lib
from runtime import learner as learner_lib
from runtime import progress
from runtime import run_config
from runtime import training_loop
from runtime import trajectories

_DEVICE = '/device:CPU:0'


class _QuietRetracing(logging_lib.Filter):
  """Each thread traces its own functions once, but TensorFlow's warning about frequent retracing
  counts them together (it keys on the Python code): drop that warning."""

  def filter(self, record):
    return 'triggered tf.function retracing' not in record.getMessage()


def copy_weights(source, destination):
  for target, value in zip(destination.variables, source.variables):
    target.assign(value)


def thread_inference(agent, env_spec, seed, index):
  """Thread `index`'s unbatched inference, sampling actions from a random stream of its own.

  Sampling ops traced under the same global seed in functions of the same shape get the same
  stream: every thread would draw the same random numbers.
  """
  tf.random.set_seed(seed + 1 + index)
  return acting.make_inference(agent, env_spec, 1, 0., batched=False)


class _Shared:
  """What the threads share: the learner (weights, RMSProp, frames), the target network, the monitor."""

  def __init__(self, config, learner, target_agent, monitor):
    self.config = config
    self.learner = learner
    self.target_agent = target_agent
    self.latest_terms = None
    self.updates = 0
    self._monitor = monitor
    self._lock = threading.Lock()
    self._target_updates = self.frames() // config.target_update_frames

  def frames(self):
    return int(self.learner.num_env_frames.numpy())

  def after_update(self, unroll, terms):
    """Records the unroll's finished episodes; copies the weights to the target network when due."""
    with self._lock:
      frames = self.frames()  # Read under the lock, so that the episode log's frames never go back.
      self.updates += 1
      self.latest_terms = terms
      self._monitor.actors(unroll)
      self._monitor.episodes(unroll, frames)
      due = frames // self.config.target_update_frames
      if self.target_agent is not None and due > self._target_updates:
        copy_weights(self.learner.agent, self.target_agent)
        self._target_updates = due

  def report(self, extra):
    with self._lock:
      if self.latest_terms is not None:
        self._monitor.report(self.frames(), self.updates, self.latest_terms, extra=extra)


class _Worker:
  """One actor-learner thread: its environment, its local copy of the weights, its updates."""

  def __init__(self, index, config, process, env_spec, shared, stop):
    self._config = config
    self._shared = shared
    self._stop = stop
    self.updates = 0
    with tf.device(_DEVICE):
      self._local = agents.build_agent(config, env_spec)
    self.inference = thread_inference(self._local, env_spec, config.seed, index)
    inference = self.inference
    if config.agent in baseline_settings.Q_AGENTS:
      rng = np.random.default_rng([config.seed, index])
      final_epsilon = q_learning.sample_final_epsilon(rng)
      inference = q_learning.EpsilonGreedy(inference, lambda: q_learning.annealed_epsilon(
          final_epsilon, shared.frames(), config.exploration_anneal_frames), rng)
    self._actor = acting.Actor(levels_lib.actor_levels(config)[index:index + 1], [index], [process],
                               inference, agents.actor_initial_state(self._local),
                               agents.actor_first_output(self._local))
    example = trajectories.unroll_example(self._local, env_spec, config.unroll_length)
    signature = (trajectories.batch_signature(example, 1), tf.TensorSpec([1], tf.int32))
    self._update = tf.function(self._update_shared_weights, input_signature=signature)
    self.thread = threading.Thread(target=self._run, name=f'worker_{index}', daemon=True)

  def _loss(self, batch, next_actions):
    if self._config.agent == 'a3c':
      return self._shared.learner.loss(batch, agent=self._local)
    return q_learning.loss(self._config.agent, self._local, self._shared.target_agent, batch,
                           next_actions, self._config)

  def _update_shared_weights(self, batch, next_actions):
    """The gradient of the loss on the local copy, applied to the shared weights."""
    batch = trajectories.time_major(batch)
    with tf.GradientTape() as tape:
      total, terms = self._loss(batch, next_actions)
    gradients = tape.gradient(total, self._local.trainable_variables)
    terms.update(self._shared.learner.apply_gradients(gradients))
    return terms

  def _run(self):
    try:
      while not self._stop.event.is_set():
        copy_weights(self._shared.learner.agent, self._local)
        unroll = self._actor.unroll(self._config.unroll_length)
        # One-step Sarsa's last target needs the action at the unroll's last state: choose it now.
        next_actions = (self._actor.next_output().action if self._config.agent == 'one_step_sarsa'
                        else np.zeros(1, np.int32))
        with tf.device(_DEVICE):
          terms = self._update(unroll, next_actions)
        self.updates += 1
        self._shared.after_update(unroll, terms)
        if self._shared.frames() >= self._config.total_environment_frames:
          self._stop.event.set()  # Each thread checks, so no update runs far past the budget.
    except dynamic_batching.BatcherClosedError:
      pass  # Shutting down.
    except Exception as e:  # pylint: disable=broad-except
      if not self._stop.event.is_set():
        logging.exception('Worker thread failed.')
      self._stop.fail(e)


def train(config, env_factory=environments.create_environment, stats=None):
  """Trains with `num_actors` actor-learner threads until the frame budget, a signal or a failure.

  `stats` (see runtime.training_loop.run_learner): steps are updates; timings start once every thread has
  made its first update (tracing its functions).
  """
  stats = {} if stats is None else stats
  run_config.write(config)
  quiet = _QuietRetracing()
  tf.get_logger().addFilter(quiet)
  groups = acting.start_environments(
      config, range(config.num_actors), is_test=False, env_factory=env_factory)
  stop = progress.Stop()
  restore_signals = progress.handle_signals(stop)
  workers = []
  shared = None
  writer = tf.summary.create_file_writer(config.logdir)
  monitor = progress.Monitor(config, writer)
  learner = manager = None
  try:
    env_spec = groups[0].process.spec
    tracked = {}
    if config.agent in baseline_settings.Q_AGENTS:
      with tf.device(_DEVICE):
        tracked['target_agent'] = agents.build_agent(config, env_spec)
    agent, learner, manager = learner_lib.learner_setup(
        config, env_spec, _DEVICE, **tracked)
    target_agent = tracked.get('target_agent')
    if target_agent is not None and manager.latest_checkpoint is None:
      copy_weights(agent, target_agent)
    shared = _Shared(config, learner, target_agent, monitor)
    workers = [_Worker(i, config, group.process, env_spec, shared, stop)
               for i, group in enumerate(groups)]
    for worker in workers:
      worker.thread.start()
    last_checkpoint = time.monotonic()
    while not stop.event.wait(0.2):
      frames = shared.frames()
      if frames >= config.total_environment_frames:
        break
      if 'first_time' not in stats and all(w.updates for w in workers):
        stats.update(first_frames=frames, first_time=time.monotonic())
      shared.report(extra=f' | {config.agent}, {len(workers)} threads')
      if time.monotonic() - last_checkpoint > config.checkpoint_secs:
        training_loop.save_checkpoint(manager, frames, config.logdir)
        last_checkpoint = time.monotonic()
  finally:
    stop.event.set()
    for worker in workers:
      worker.inference.close()
      if worker.thread.is_alive():
        worker.thread.join()
    restore_signals()
    acting.close_environments(groups)
    if learner is not None:
      frames = int(learner.num_env_frames.numpy())
      stats.update(steps=shared.updates if shared else 0, frames=frames, last_time=time.monotonic(),
                   actor_threads=len(workers))
      training_loop.save_checkpoint(manager, frames, config.logdir)
    monitor.close()
    writer.close()
    tf.get_logger().removeFilter(quiet)
  if stop.error is not None:
    raise stop.error
  return frames
