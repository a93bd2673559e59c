"""Learner and actors as processes, over TensorFlow's own distributed runtime.

The learner's server hosts the trajectory queue, a copy of the weights and the run (its state and
its settings, config.json's, with the run's identity), all on its CPU and found by name: actor tasks
build ops on '/job:learner' that name the same shared resources (runtime.learner_link). Only the
learner is in the learner's cluster spec; each actor task joins as a job of its own, so actors come
and go without the learner knowing them in advance. An actor task takes the run's settings from the
learner it joins (runtime.run_config.join), so every actor task of any run starts with the same
command.

Exit codes (experiment.py; the table in docs/cluster.md): a run stopped by a signal before its frame
budget ends with 128 + the signal, which schedulers take for a failure to retry; an actor task that
finds no learner within --learner_timeout_secs with EXIT_LEARNER_UNREACHABLE, retryable too.
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
from runtime import learner_link
from runtime import prefetch
from runtime import progress
from runtime import replay
from runtime import replicas
from runtime import run_config
from runtime import trajectories
from runtime import training_loop

# An actor task's exit code when no learner answered within --learner_timeout_secs: 128 + SIGUSR1,
# retryable for the training operator's ExitCode restart policy (128-255), and the code its earlier
# releases reserved for a user's retryable error. The actor is not at fault; the learner may be
# pending, or restarting with back-off.
EXIT_LEARNER_UNREACHABLE = 138
# What an actor task's calls to a learner that went away raise.
_LEARNER_LOST = (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.InternalError,
                 tf.errors.CancelledError)
_ACTOR_POLL_SECS = 2.
KEEPALIVE_SECS = 10  # Between gRPC's keepalive pings on an actor task's channels (run_actor_task).


class WrongLearnerError(ValueError):
  """The learner an actor task reached trains another run, or a run its flags contradict."""


def _free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def run_learner_task(config):
  """The learner process: serves the queue, the weights and the run, trains, checkpoints; returns
  the frames trained."""
  port = config.learner_address.rpartition(':')[2]
  logging.warning('The learner\'s TensorFlow server listens on port %s of every network interface '
                  'of this machine and runs any TensorFlow graph sent to it, unauthenticated: keep '
                  'the port closed to all but the actor machines (README, "Security").', port)
  run_config.write(config)
  env_spec = environments.environment_spec(levels_lib.actor_levels(config)[0], config.env_config)
  # TensorFlow's server listens on every interface: the learner's own host name need not resolve.
  tf.config.experimental_connect_to_cluster(
      tf.train.ClusterSpec({'learner': [config.learner_address]}), job_name='learner', task_index=0)
  strategy = replicas.make_strategy(config.learner_replicas)
  device = learner_lib.learner_device()
  agent, learner, checkpoints = learner_lib.learner_setup(config, env_spec, device, strategy)
  example = trajectories.unroll_example(agent, env_spec, config.unroll_length)
  trajectory_queue = trajectories.make_trajectory_queue(example, config.batch_size,
                                                         learner_link.SHARED_DEVICE)
  run = learner_link.SharedRun()
  run.publish(config)
  weights = learner_link.SharedWeights(agent.trainable_variables)
  weights.publish()
  run.set_state(learner_link.RUNNING)
  logging.info('Learner serving run %r at %s.', config.run_id, config.learner_address)
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
    run.set_state(learner_link.FINISHED if finished else learner_link.STOPPED)
    try:
      trajectory_queue.close(cancel_pending_enqueues=True)
    except tf.errors.NotFoundError:
      # Seen twice in ~10 Slurm stops (SIGTERM to every task at once): the queue's resource was
      # already gone, so no actor can enqueue; the cause is not known (closing note of 2026-12-07).
      logging.warning('The trajectory queue was already gone when the learner closed it.')
    prefetcher.close()
    restore_signals()
  time.sleep(_ACTOR_POLL_SECS * 2)  # Serve the state a little longer, for actor tasks to read it.
  return frames


def run_actor_task(task, join, env_factory=environments.create_environment):
  """An actor process: joins the learner, takes the run's settings from it, and plays its actors
  with the learner's latest weights, feeding its queue; returns True when the learner has finished.

  task: the task's own settings, checked ({flag name: value}: runtime.run_config.actor_task);
  join: (the learner's settings) -> the task's Config, or ValueError for a flag that contradicts them.
  If the learner goes away or stops before its frame budget, this process starts itself again and
  waits for the learner to come back (up to learner_timeout_secs): TensorFlow's remote contexts do
  not survive a restarted server or a connection the server dropped. Raises WrongLearnerError for
  a learner of another run (--run_id) or whose settings the task's flags contradict.
  """
  # gRPC's keepalive pings, on this process's channels to the learner: a connection whose far end is
  # gone without a word (the learner killed while this host was cut off) fails its calls within
  # KEEPALIVE_SECS * 2, where a call would otherwise wait on it for ever (measured).
  os.environ.setdefault('TF_GRPC_DEFAULT_OPTIONS', f'grpc.keepalive_time_ms={KEEPALIVE_SECS * 1000},'
                        f'grpc.keepalive_timeout_ms={KEEPALIVE_SECS * 1000}')
  address, timeout = task['learner_address'], task['learner_timeout_secs']
  learner_link.wait_for_learner(address, timeout)
  job = f'actor_{task["task"]}'
  tf.config.experimental_connect_to_cluster(
      tf.train.ClusterSpec({'learner': [address], job: [task['actor_address'] or
                                                        f'localhost:{_free_port()}']}),
      job_name=job, task_index=0)
  run = learner_link.SharedRun()
  try:
    state = _wait_until_running(run, address, timeout)
    settings = run.settings()
  except _LEARNER_LOST as e:
    _start_again(e)
  if state == learner_link.FINISHED:
    logging.info('The learner has finished: stopping.')
    return True
  try:
    config = join(settings)  # Refuses a learner of another run (--run_id) too.
  except ValueError as e:
    raise WrongLearnerError(str(e)) from None
  logging.info('Joined run %r (--logdir=%s on the learner\'s machine) at %s.', settings['run_id'],
               settings['logdir'], address)
  state, error = _play(config, run, env_factory)
  if state == learner_link.FINISHED:
    logging.info('The learner has finished: stopping.')
    return True
  if progress.stopping_signal() is not None:
    # This task was told to stop (a Slurm time limit signals every task, the learner too): it ends,
    # whatever the learner does, so that the job step ends and can be requeued.
    return False
  if state == learner_link.STOPPED:
    logging.warning('The learner has stopped before its frame budget (a signal or an error ended '
                    'it): starting again, to rejoin it when it is back (within %g s, '
                    '--learner_timeout_secs).', timeout)
    _start_again()
  if isinstance(error, (tf.errors.OpError, dynamic_batching.BatcherClosedError)):
    _start_again(error)
  if error is not None:
    raise error
  return False


def _wait_until_running(run, address, timeout):
  """The learner's state once it runs or has finished. Before, it has not published its weights
  yet, or it is a stopped learner in its last seconds (a restarted one takes its place);
  learner_link.LearnerUnreachableError if that lasts `timeout` s."""
  deadline = time.monotonic() + timeout
  said = False
  while (state := run.state()) in (0, learner_link.STOPPED):
    if time.monotonic() > deadline:
      raise learner_link.LearnerUnreachableError(
          f'the learner at --learner_address={address} did not start training within {timeout:g} s '
          '(--learner_timeout_secs)')
    if state == learner_link.STOPPED and not said:
      said = True
      logging.warning('The learner at %s has stopped before its frame budget: waiting for it to '
                      'come back, up to %g s (--learner_timeout_secs).', address, timeout)
    time.sleep(1)
  return state


def _start_again(error=None):
  """Runs this program again in this process, to reconnect when the learner is back."""
  if error is not None:
    logging.warning('Lost the learner (%s): starting again, to reconnect when it is back.',
                    str(error).splitlines()[0][:200])
  # At once: the new process imports TensorFlow while the learner comes back, then waits for it.
  os.execv(sys.executable, [sys.executable] + sys.argv)


def _play(config, run, env_factory):
  """Plays this task's actors until the learner ends or goes away, or a signal; returns the
  learner's last state seen and the error that stopped play, if any."""
  actor_ids = list(range(config.task, config.num_actors, config.num_actor_tasks))
  groups = acting.start_environments(config, actor_ids, is_test=False, env_factory=env_factory)
  stop = progress.Stop()
  restore_signals = progress.handle_signals(stop)
  pool = None
  state = learner_link.RUNNING
  try:
    env_spec = groups[0].process.spec
    agent = agents.build_agent(config, env_spec)
    trajectory_queue = trajectories.make_trajectory_queue(
        trajectories.unroll_example(agent, env_spec, config.unroll_length), config.batch_size,
        learner_link.SHARED_DEVICE)
    weights = learner_link.SharedWeights(agent.trainable_variables)
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
        state = run.state()
        if state in (learner_link.FINISHED, learner_link.STOPPED):
          stop.event.set()
  except _LEARNER_LOST as e:
    stop.fail(e)
    if isinstance(e, tf.errors.CancelledError):  # The learner closed its queue: has it ended?
      try:
        state = run.state()
      except tf.errors.OpError:
        pass
  finally:
    if pool is not None:
      pool.close()
    restore_signals()
    acting.close_environments(groups)
  return state, stop.error
