"""Learner and actors as processes, over TensorFlow's own distributed runtime.

The learner's server hosts the trajectory queue and a copy of the weights, both on its CPU and found
by name: actor tasks build ops on '/job:learner' that name the same shared resources. Only the
learner is in the learner's cluster spec; each actor task joins as a job of its own, so actors come
and go without the learner knowing them in advance.
"""
import os
import queue as py_queue
import socket
import sys
import time

from absl import logging
import tensorflow as tf

import environments
from runtime import acting
from runtime import agents
from runtime import dynamic_batching
from runtime import levels as levels_lib
from runtime import learner as learner_lib
from runtime import prefetch
from runtime import progress
from runtime import replay
from runtime import replicas
from runtime import run_config
from runtime import trajectories
from runtime import training_loop

SHARED_DEVICE = '/job:learner/replica:0/task:0/device:CPU:0'
# The learner's run state, which actor tasks poll: 0 before it has published its weights.
_RUNNING, _FINISHED, _STOPPED = 1, 2, 3  # _STOPPED: ended before its budget (a signal, an error).
_ACTOR_POLL_SECS = 2.
_MAX_RETRY_SECS = 10.  # The longest wait between an actor task's attempts to reach the learner.
KEEPALIVE_SECS = 10  # Between gRPC's keepalive pings on an actor task's channels (run_actor_task).


class SharedWeights:
  """The learner's weights (and whether it runs) as named variables on the learner's CPU."""

  def __init__(self, variables):
    self._variables = list(variables)
    with tf.device(SHARED_DEVICE):
      self._handles = [tf.raw_ops.VarHandleOp(dtype=v.dtype, shape=v.shape,
                                              container=trajectories.CONTAINER,
                                              shared_name=f'weights/{i}/{v.name}')
                       for i, v in enumerate(self._variables)]
      self._state = tf.raw_ops.VarHandleOp(dtype=tf.int32, shape=[], container=trajectories.CONTAINER,
                                           shared_name='run_state')

  def publish(self):
    """Learner: copies its weights to the shared ones."""
    with tf.device(SHARED_DEVICE):
      for handle, variable in zip(self._handles, self._variables):
        tf.raw_ops.AssignVariableOp(resource=handle, value=variable)

  def fetch(self):
    """Actor: copies the shared weights into its agent."""
    with tf.device(SHARED_DEVICE):
      values = [tf.raw_ops.ReadVariableOp(resource=h, dtype=v.dtype)
                for h, v in zip(self._handles, self._variables)]
    for variable, value in zip(self._variables, values):
      variable.assign(value)

  def set_state(self, state):
    with tf.device(SHARED_DEVICE):
      tf.raw_ops.AssignVariableOp(resource=self._state, value=tf.constant(state, tf.int32))

  def state(self):
    """_RUNNING or _FINISHED; 0 before the learner has published its weights."""
    with tf.device(SHARED_DEVICE):
      try:
        return int(tf.raw_ops.ReadVariableOp(resource=self._state, dtype=tf.int32).numpy())
      except tf.errors.FailedPreconditionError:
        return 0  # Not created yet.


class LearnerUnreachableError(RuntimeError):
  pass


def wait_for_learner(address, timeout):
  """Waits until the learner's port accepts connections, trying again after 1, 2, 4, ... s (at most
  _MAX_RETRY_SECS) and saying so; LearnerUnreachableError after `timeout` s."""
  host, _, port = address.rpartition(':')
  deadline = time.monotonic() + timeout
  wait = 1.
  while True:
    try:
      with socket.create_connection((host, int(port)), timeout=2):
        return
    except OSError as e:
      left = deadline - time.monotonic()
      if left <= 0:
        raise LearnerUnreachableError(
            f'no learner answered at --learner_address={address} within {timeout:g} s '
            '(--learner_timeout_secs): start it first (--job_name=learner --task=0) or check the '
            'address') from None
      wait = min(wait, left)
      logging.warning('The learner at %s is not reachable (%s): trying again in %.0f s, giving up '
                      'in %.0f s (--learner_timeout_secs).', address, e.strerror or e, wait, left)
      time.sleep(wait)
      wait = min(2 * wait, _MAX_RETRY_SECS)


def _free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def run_learner_task(config):
  """The learner process: serves the queue and the weights, trains, checkpoints."""
  port = config.learner_address.rpartition(':')[2]
  logging.warning('The learner\'s TensorFlow server listens on port %s of every network interface '
                  'of this machine and runs any TensorFlow graph sent to it, unauthenticated: keep '
                  'the port closed to all but the actor machines (README, "Security").', port)
  run_config.write(config)
  env_spec = environments.environment_spec(levels_lib.actor_levels(config)[0], config.env_config)
  tf.config.experimental_connect_to_cluster(
      tf.train.ClusterSpec({'learner': [config.learner_address]}), job_name='learner', task_index=0)
  strategy = replicas.make_strategy(config.learner_replicas)
  device = learner_lib.learner_device()
  agent, learner, checkpoints = learner_lib.learner_setup(config, env_spec, device, strategy)
  example = trajectories.unroll_example(agent, env_spec, config.unroll_length)
  trajectory_queue = trajectories.make_trajectory_queue(example, config.batch_size, SHARED_DEVICE)
  weights = SharedWeights(agent.trainable_variables)
  weights.publish()
  weights.set_state(_RUNNING)
  logging.info('Learner serving at %s.', config.learner_address)
  stop = progress.Stop()
  restore_signals = progress.handle_signals(stop)
  prefetcher = prefetch.Prefetcher(trajectory_queue, example, config.batch_size,
                                   None if strategy else device, *replay.make_buffer(config, example),
                                   strategy=strategy)
  try:
    frames = training_loop.run_learner(config, learner, prefetcher, checkpoints, stop,
                                       after_step=weights.publish)
  finally:
    # Before the queue closes, so that actor tasks take it for the end and stop.
    finished = int(learner.num_env_frames.numpy()) >= config.total_environment_frames
    weights.set_state(_FINISHED if finished else _STOPPED)
    trajectory_queue.close(cancel_pending_enqueues=True)
    prefetcher.close()
    restore_signals()
  time.sleep(_ACTOR_POLL_SECS * 2)  # Serve the state a little longer, for actor tasks to read it.
  return frames


def run_actor_task(config, env_factory=environments.create_environment):
  """An actor process: plays its actors with the learner's latest weights, feeding its queue.

  If the learner goes away, this process starts itself again and waits for the learner to come back
  (up to learner_timeout_secs): TensorFlow's remote contexts do not survive a restarted server or a
  connection the server dropped. It ends when the learner has finished or was stopped.
  """
  actor_ids = list(range(config.task, config.num_actors, config.num_actor_tasks))
  # gRPC's keepalive pings, on this process's channels to the learner: a connection whose far end is
  # gone without a word (the learner killed while this host was cut off) fails its calls within
  # KEEPALIVE_SECS * 2, where a call would otherwise wait on it for ever (measured).
  os.environ.setdefault('TF_GRPC_DEFAULT_OPTIONS', f'grpc.keepalive_time_ms={KEEPALIVE_SECS * 1000},'
                        f'grpc.keepalive_timeout_ms={KEEPALIVE_SECS * 1000}')
  wait_for_learner(config.learner_address, config.learner_timeout_secs)
  job = f'actor_{config.task}'
  address = config.actor_address or f'localhost:{_free_port()}'
  tf.config.experimental_connect_to_cluster(
      tf.train.ClusterSpec({'learner': [config.learner_address], job: [address]}),
      job_name=job, task_index=0)
  groups = acting.start_environments(config, actor_ids, is_test=False, env_factory=env_factory)
  stop = progress.Stop()
  restore_signals = progress.handle_signals(stop)
  pool = None
  state = _RUNNING
  try:
    env_spec = groups[0].process.spec
    agent = agents.build_agent(config, env_spec)
    trajectory_queue = trajectories.make_trajectory_queue(
        trajectories.unroll_example(agent, env_spec, config.unroll_length), config.batch_size,
        SHARED_DEVICE)
    weights = SharedWeights(agent.trainable_variables)
    deadline = time.monotonic() + config.learner_timeout_secs
    while weights.state() == 0:  # Connected before the learner published its weights.
      if time.monotonic() > deadline:
        raise LearnerUnreachableError('the learner never published its weights')
      time.sleep(1)
    weights.fetch()
    # Remote ops from several threads at once deadlocked in TF 2.21's eager runtime: actor threads
    # hand their unrolls over, and this thread alone talks to the learner.
    unrolls = py_queue.Queue(maxsize=1)

    def hand_over(flat):
      while not stop.event.is_set():
        try:
          return unrolls.put(flat, timeout=0.5)
        except py_queue.Full:
          pass

    pool = acting.ActorPool(config, groups, agent, env_spec, hand_over, stop)
    logging.info('Actor task %d plays actors %s with the learner at %s.', config.task, actor_ids,
                 config.learner_address)
    last_poll = time.monotonic()
    while not stop.event.is_set():
      try:
        trajectory_queue.enqueue_many(unrolls.get(timeout=_ACTOR_POLL_SECS))
        weights.fetch()  # Every unroll starts with the learner's latest weights.
      except py_queue.Empty:
        pass
      if time.monotonic() - last_poll > _ACTOR_POLL_SECS:
        last_poll = time.monotonic()
        state = weights.state()
        if state in (_FINISHED, _STOPPED):
          stop.event.set()
  except (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.InternalError,
          tf.errors.CancelledError) as e:
    stop.fail(e)
    if isinstance(e, tf.errors.CancelledError):  # The learner closed its queue: has it ended?
      try:
        state = weights.state()
      except tf.errors.OpError:
        pass
  finally:
    if pool is not None:
      pool.close()
    restore_signals()
    acting.close_environments(groups)
  if state in (_FINISHED, _STOPPED):
    logging.info('The learner has %s: stopping.', 'finished' if state == _FINISHED else
                 'stopped before its frame budget (a signal or an error ended it)')
    return
  if stop.error is None:
    return
  if isinstance(stop.error, (tf.errors.OpError, dynamic_batching.BatcherClosedError)):
    logging.warning('Lost the learner (%s): starting again, to reconnect when it is back.',
                    str(stop.error).splitlines()[0][:200])
    # At once: the new process imports TensorFlow while the learner comes back, then waits for it.
    os.execv(sys.executable, [sys.executable] + sys.argv)
  raise stop.error
