"""Environments in processes of their own: the role `py_process` played in the original.

An `EnvironmentProcess` runs one environment, built by a picklable factory (a module-level callable
and its keyword arguments), in a child process, and forwards `initial()` and `step(action)` to it.
If the child dies or stops answering, it logs an error, replaces the child with a fresh one and
answers the call with the fresh environment's `initial()` step (done=True, info (0, 0)): the actor's
LSTM state resets and the run goes on. The episode in progress is lost, not reported; `restarts`
counts the replacements.

The child is a fresh Python interpreter started with `subprocess` (fork + exec at once, which is safe
in a multi-threaded TensorFlow parent, where a plain fork is not), not a `multiprocessing` Process:
multiprocessing's 'spawn' and 'forkserver' methods re-import the parent's `__main__` module in the
child, and a learner script that imports TensorFlow at its top would load TensorFlow into every
environment process. The child imports only this package and the factory's module. Parent and child
talk over a `multiprocessing.Pipe` (a socket pair carrying pickled messages); large NumPy arrays in
the answers (frames) go through a shared memory file instead (`SharedArrays`): pickling a frame and
pushing it through the socket cost more than the Atari step that made it.

No orphans: `close()` (or leaving a `with` block) ends the child; an atexit hook closes those still
open when the interpreter exits; and a child whose parent has gone, however it went (even SIGKILL,
which no atexit hook or daemon flag survives), finds the pipe closed when it next waits for a call,
and exits.
"""
import atexit
import logging
import mmap
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import traceback
import weakref

import numpy as np
import tree

from environments.base import StepOutput, StepOutputInfo

logger = logging.getLogger(__name__)

# Waits before a child that was asked to close is killed.
_CLOSE_TIMEOUT = 5.
# The child's first reads: the parent's sys.path (so the factory's module imports there as it does
# here), then the pickled factory and its keyword arguments. argv: the pipe's and the shared memory
# file's descriptors.
_BOOTSTRAP = """
import sys
from multiprocessing.connection import Connection
connection = Connection(int(sys.argv[1]))
sys.path[:] = connection.recv()
from environments.process import serve, SharedArrays
serve(connection, SharedArrays(int(sys.argv[2])))
"""
_open_processes = weakref.WeakSet()


class EnvironmentProcessError(RuntimeError):
  """The process is closed, its replacement failed too, or it never became ready (`spec`)."""


class RemoteTraceback(Exception):
  """The child's traceback, chained to an exception the environment raised there."""

  def __str__(self):
    return '\n' + self.args[0]


class _Lost(Exception):
  """The child died or did not answer in time."""


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
    self._memory.close()
    os.close(self.fd)


class EnvironmentProcess:
  """One environment in a child process; `initial()`, `step(action)`, `close()` and `spec`.

  Args:
    factory: a callable that returns the environment, defined at the top level of a module the child
      can import (pickled by reference; not in the script run as __main__).
    call_timeout: seconds a call may take before the child is taken for hung and replaced.
    startup_timeout: the same for the child's first call, which includes building the environment
      (DeepMind Lab compiles the level's map then, which can take minutes).
    **factory_kwargs: passed to `factory`; must be picklable.

  The child starts at once but without waiting for it, so that many can be built in parallel; the
  first call waits. Exceptions the environment raises are raised here, with the child's traceback,
  and the environment stays in use. One caller at a time: each actor thread owns its process.
  """

  def __init__(self, factory, /, *, call_timeout=60., startup_timeout=600., **factory_kwargs):
    for name, value in (('call_timeout', call_timeout), ('startup_timeout', startup_timeout)):
      if not value > 0:
        raise ValueError(f'{name} must be positive, got {value!r}')
    self._call_timeout = call_timeout
    self._startup_timeout = startup_timeout
    self._description = f'{getattr(factory, "__qualname__", factory)}({factory_kwargs})'
    self._payload = pickle.dumps((factory, factory_kwargs))
    self.restarts = 0
    self._process = None
    self._start()
    _open_processes.add(self)

  def _start(self):
    self._connection, child_end = multiprocessing.Pipe()
    self._shared = SharedArrays()
    with child_end:
      self._process = subprocess.Popen(
          [sys.executable, '-c', _BOOTSTRAP, str(child_end.fileno()), str(self._shared.fd)],
          pass_fds=(child_end.fileno(), self._shared.fd), stdin=subprocess.DEVNULL)
    self._ready = False
    self._spec = None
    self._answered_calls = 0
    self._awaiting_answer = False
    try:
      self._connection.send(sys.path)
      self._connection.send_bytes(self._payload)
    except OSError:
      pass  # It died at once; the first wait for an answer finds out.

  @property
  def pid(self):
    return self._process.pid

  @property
  def spec(self):
    """What the environment's `spec` attribute holds (an EnvSpec for this package's environments)."""
    try:
      self._wait_until_ready()
    except _Lost as lost:
      raise EnvironmentProcessError(f'{self._description}: the environment process {lost}') from None
    return self._spec

  def initial(self):
    self._request('initial')
    return self._answer_or_replace()

  def step(self, action):
    self.step_async(action)
    return self.step_wait()

  def step_async(self, action):
    """Sends the step; `step_wait()` returns its result. Lets many environments step at once."""
    self._request('step', action)

  def step_wait(self):
    return self._answer_or_replace()

  def _request(self, method, *args):
    if self._process is None:
      raise EnvironmentProcessError(f'{self._description}: the environment process is closed')
    if self._awaiting_answer:
      raise EnvironmentProcessError('step_async() must be followed by step_wait() before a new call')
    self._awaiting_answer = True
    try:
      self._connection.send((method, args))
    except OSError:
      pass  # The child is gone; the wait for the answer finds out and replaces it.

  def _receive(self, timeout):
    # poll() also returns when the child has gone: the pipe then reads as closed.
    if not self._connection.poll(timeout):
      raise _Lost(f'did not answer within {timeout:g} s')
    try:
      kind, *payload = self._connection.recv()
    except (EOFError, OSError):
      raise _Lost('died') from None
    if kind == 'error':
      error, remote_traceback = payload
      raise error from RemoteTraceback(remote_traceback)
    return payload

  def _wait_until_ready(self):
    if not self._ready:
      self._spec, = self._receive(self._startup_timeout)
      self._ready = True

  def _answer(self):
    self._awaiting_answer = False
    self._wait_until_ready()
    timeout = self._call_timeout if self._answered_calls else self._startup_timeout
    result, = self._receive(timeout)
    self._answered_calls += 1
    return self._shared.take(result)

  def _answer_or_replace(self):
    try:
      return self._answer()
    except _Lost as lost:
      return self._replace(lost)

  def _replace(self, lost):
    pid = self.pid
    self._kill()
    logger.error('Environment process %d for %s %s (exit code %s). Replacing it with a fresh one; '
                 'the episode in progress is lost.', pid, self._description, lost,
                 self._process.returncode)
    self.restarts += 1
    self._start()
    self._request('initial')
    try:
      return self._answer()
    except _Lost as lost_again:
      self._kill()
      raise EnvironmentProcessError(
          f'{self._description}: the replacement environment process {lost_again}') from None

  def _kill(self):
    self._process.kill()
    self._process.wait()
    self._connection.close()
    self._shared.close()

  def close(self):
    """Ends the child (asking first, then killing it). Safe to call more than once."""
    if self._process is None:
      return
    _open_processes.discard(self)
    try:
      self._connection.send(('close', ()))
    except OSError:
      pass
    try:
      self._process.wait(_CLOSE_TIMEOUT)
    except subprocess.TimeoutExpired:
      logger.warning('Environment process %d did not close in %g s; killing it.', self.pid,
                     _CLOSE_TIMEOUT)
    self._kill()
    self._process = None

  def __enter__(self):
    return self

  def __exit__(self, *unused_exc_info):
    self.close()


class EnvironmentGroup:
  """Several environments that one process hosts and steps one after another, in order.

  For an `EnvironmentProcess`: `EnvironmentProcess(EnvironmentGroup, factory=f, kwargs_list=[...])`.
  Where an environment step is cheap (Atari), a process per environment spends more on waking
  processes, passing messages and refilling caches than on the environments; a group pays that once
  per step of all its environments. `initial()` and `step(actions)` return the environments' outputs
  as one StepOutput of arrays [K, ...] (`stack_outputs`): one message, and one shared array of frames,
  for the whole group, where a list of K outputs cost each side ~50 µs a step per environment.
  """

  def __init__(self, factory, kwargs_list):
    self._environments = []
    try:
      for kwargs in kwargs_list:
        self._environments.append(factory(**kwargs))
    except Exception:
      self.close()
      raise
    if not self._environments:
      raise ValueError('an environment group needs at least one environment')
    self.spec = getattr(self._environments[0], 'spec', None)

  def __len__(self):
    return len(self._environments)

  def initial(self):
    return stack_outputs([environment.initial() for environment in self._environments])

  def step(self, actions):
    if len(actions) != len(self._environments):
      raise ValueError(f'{len(actions)} actions for {len(self._environments)} environments')
    return stack_outputs([environment.step(action)
                          for environment, action in zip(self._environments, actions)])

  def close(self):
    for environment in self._environments:
      environment.close()


def stack_outputs(outputs):
  """K environments' StepOutputs as one of arrays [K, ...]: reward float32, info float32 and int32,
  done bool, each observation stacked; text observations (instructions) become UTF-8 bytes objects."""
  def stack(values):
    if isinstance(values[0], (str, bytes)):
      return np.array([v.encode('utf-8') if isinstance(v, str) else v for v in values], object)
    return np.stack(values)

  return StepOutput(
      reward=np.array([output.reward for output in outputs], np.float32),
      info=StepOutputInfo(np.array([output.info.episode_return for output in outputs], np.float32),
                          np.array([output.info.episode_step for output in outputs], np.int32)),
      done=np.array([output.done for output in outputs], np.bool_),
      observation={key: stack([output.observation[key] for output in outputs])
                   for key in outputs[0].observation})


def step_many(processes, actions):
  """Steps every process with its action, all at once; returns their answers in order."""
  processes = list(processes)
  actions = list(actions)
  if len(processes) != len(actions):
    raise ValueError(f'{len(processes)} processes but {len(actions)} actions')
  for process, action in zip(processes, actions):
    process.step_async(action)
  return [process.step_wait() for process in processes]


@atexit.register
def _close_open_processes():
  for process in list(_open_processes):
    process.close()


def _send_error(connection, error):
  remote_traceback = ''.join(traceback.format_exception(error))
  try:
    pickle.loads(pickle.dumps(error))
  except Exception:  # pylint: disable=broad-except
    # Not every exception survives pickling; its type and message still can.
    error = RuntimeError(f'{type(error).__name__}: {error}')
  connection.send(('error', error, remote_traceback))


def serve(connection, shared):
  """The child's side: builds the environment, then answers calls until closed or orphaned."""
  # Ctrl-C (and a SIGTERM sent to the process group) reach the children too; the parent decides when
  # environments end, and a child also ends when its pipe closes.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  signal.signal(signal.SIGTERM, signal.SIG_IGN)
  try:
    factory, factory_kwargs = pickle.loads(connection.recv_bytes())
    environment = factory(**factory_kwargs)
  except Exception as error:  # pylint: disable=broad-except
    _send_error(connection, error)
    return
  try:
    connection.send(('ready', getattr(environment, 'spec', None)))
    while True:
      method, args = connection.recv()
      if method == 'close':
        return
      try:
        result = getattr(environment, method)(*args)
      except Exception as error:  # pylint: disable=broad-except
        _send_error(connection, error)
        continue
      connection.send(('ok', shared.share(result)))
  except (EOFError, OSError):
    pass  # The parent has gone.
  finally:
    environment.close()
