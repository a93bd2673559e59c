"""What the learner of a cluster shares with its actor tasks, and how they reach it.

The learner's run (its state and its settings) and its weights are named variables on the learner's
CPU (SHARED_DEVICE): the learner task creates them, and each actor task, across machines, builds ops
on '/job:learner' that name the same ones (runtime.cluster). Before it connects, an actor task waits
for the learner's address to answer (wait_for_learner).
"""
import json
import socket
import time

from absl import logging
import tensorflow as tf

from runtime import run_config
from runtime import trajectories

SHARED_DEVICE = '/job:learner/replica:0/task:0/device:CPU:0'
# The learner's run state, which actor tasks poll: 0 before it has published its weights.
RUNNING, FINISHED, STOPPED = 1, 2, 3  # STOPPED: ended before its budget (a signal, an error).
_MAX_RETRY_SECS = 10.  # The longest wait between an actor task's attempts to reach the learner.


class SharedRun:
  """The learner's run, as named variables on the learner's CPU: its state, which actor tasks poll,
  and its settings (config.json's, with the run's identity: run_id and logdir)."""

  def __init__(self):
    with tf.device(SHARED_DEVICE):
      self._state = tf.raw_ops.VarHandleOp(dtype=tf.int32, shape=[], container=trajectories.CONTAINER,
                                           shared_name='run_state')
      self._settings = tf.raw_ops.VarHandleOp(dtype=tf.string, shape=[],
                                              container=trajectories.CONTAINER,
                                              shared_name='run_settings')

  def publish(self, config):
    """Learner: publishes its settings, before its state says that it runs."""
    with tf.device(SHARED_DEVICE):
      tf.raw_ops.AssignVariableOp(resource=self._settings, value=tf.constant(run_config.as_json(config)))

  def settings(self):
    """Actor: the learner's settings, {flag name: value}."""
    with tf.device(SHARED_DEVICE):
      return json.loads(tf.raw_ops.ReadVariableOp(resource=self._settings, dtype=tf.string).numpy())

  def set_state(self, state):
    with tf.device(SHARED_DEVICE):
      tf.raw_ops.AssignVariableOp(resource=self._state, value=tf.constant(state, tf.int32))

  def state(self):
    """RUNNING, FINISHED or STOPPED; 0 before the learner has published its weights."""
    with tf.device(SHARED_DEVICE):
      try:
        return int(tf.raw_ops.ReadVariableOp(resource=self._state, dtype=tf.int32).numpy())
      except tf.errors.FailedPreconditionError:
        return 0  # Not created yet.


class SharedWeights:
  """The learner's weights as named variables on the learner's CPU."""

  def __init__(self, variables):
    self._variables = list(variables)
    with tf.device(SHARED_DEVICE):
      self._handles = [tf.raw_ops.VarHandleOp(dtype=v.dtype, shape=v.shape,
                                              container=trajectories.CONTAINER,
                                              shared_name=f'weights/{i}/{v.name}')
                       for i, v in enumerate(self._variables)]

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


class LearnerUnreachableError(RuntimeError):
  pass


def wait_for_learner(address, timeout):
  """Waits until the learner's host name resolves and its port accepts connections, trying again
  after 1, 2, 4, ... s (at most _MAX_RETRY_SECS) and saying so; LearnerUnreachableError after
  `timeout` s. A name that does not resolve is waited for as a port that does not answer: a
  scheduler may publish the learner's name only once the learner is up (the training operator's
  headless Services, once its pod is Ready)."""
  host, _, port = address.rpartition(':')
  deadline = time.monotonic() + timeout
  wait = 1.
  while True:
    try:
      socket.getaddrinfo(host.strip('[]'), int(port), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
      unresolved, problem = True, getattr(e, 'strerror', None) or e
    else:
      try:
        with socket.create_connection((host.strip('[]'), int(port)), timeout=2):
          return
      except OSError as e:
        unresolved, problem = False, e.strerror or e
    left = deadline - time.monotonic()
    if left <= 0:
      if unresolved:
        raise LearnerUnreachableError(
            f'the learner\'s host {host!r} (--learner_address={address}) did not resolve within '
            f'{timeout:g} s (--learner_timeout_secs; {problem}): check the address, or start the '
            'learner') from None
      raise LearnerUnreachableError(
          f'no learner answered at --learner_address={address} within {timeout:g} s '
          '(--learner_timeout_secs): start it first (--job_name=learner --task=0) or check the '
          'address') from None
    wait = min(wait, left)
    if unresolved:
      logging.warning('The learner\'s host %r does not resolve yet (%s): trying again in %.0f s, '
                      'giving up in %.0f s (--learner_timeout_secs).', host, problem, wait, left)
    else:
      logging.warning('The learner at %s is not reachable (%s): trying again in %.0f s, giving up '
                      'in %.0f s (--learner_timeout_secs).', address, problem, wait, left)
    time.sleep(wait)
    wait = min(2 * wait, _MAX_RETRY_SECS)
