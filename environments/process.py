"""Environments in processes of their own: the role `py_process` played in the original.

An `EnvironmentProcess` runs one environment, built by a picklable factory (a module-level callable
and its keyword arguments), in a child process, and forwards `initial()` and `step(action)` to it.
If the child dies or stops answering, it logs an error, replaces the child with a fresh one and
answers the call with the fresh environment's `initial()` step (done=True, info (0, 0)): the actor's
LSTM state resets and the run goes on. The episode in progress is lost, not reported; `restarts`
counts the replacements. A child that dies before its environment's first answer is not replaced:
its environment cannot start (a DeepMind Lab level whose map is missing ends its process at the
first reset), and a replacement would fail the same way, so the caller gets an
`EnvironmentProcessError` with the last lines the child wrote to stderr (the engine's message).

The child is a fresh Python interpreter started with `subprocess` (fork + exec at once, which is safe
in a multi-threaded TensorFlow parent, where a plain fork is not), not a `multiprocessing` Process:
multiprocessing's 'spawn' and 'forkserver' methods re-import the parent's `__main__` module in the
child, and a learner script that imports TensorFlow at its top would load TensorFlow into every
environment process. The child imports only this package and the factory's module. Parent and child
talk over a `multiprocessing.Pipe` (a socket pair carrying pickled messages); large NumPy arrays in
the answers (frames) go through a shared memory file instead (`environments.shared_memory`).

No orphans: `close()` (or leaving a `with` block) ends the child; an atexit hook closes those still
open when the interpreter exits; and a child whose parent has gone, however it went (even SIGKILL,
which no atexit hook or daemon flag survives), finds the pipe closed when it next waits for a call,
and exits.
"""
import atexit
import collections
import logging
import multiprocessing
import pickle
import subprocess
import sys
import threading
import time
import weakref

import numpy as np

from environments.base import StepOutput, StepOutputInfo
from environments.proc_stat import cpu_seconds
from environments.shared_memory import SharedArrays

logger = logging.getLogger(__name__)

# Waits before a child that was asked to close is killed.
_CLOSE_TIMEOUT = 5.
# Seconds an answer may take before the child's CPU time is read, to tell a busy child from a hung one.
_QUICK_ANSWER = 1.
# The child's first reads: the parent's sys.path (so the factory's module imports there as it does
# here), then the pickled factory and its keyword arguments. argv: the pipe's and the shared memory
# file's descriptors.
_BOOTSTRAP = """
import sys
from multiprocessing.connection import Connection
connection = Connection(int(sys.argv[1]))
sys.path[:] = connection.recv()
from environments.process_serve import serve
from environments.shared_memory import SharedArrays
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


class _StderrTail:
  """Forwards a child's stderr to ours line by line, keeping the last lines for error messages."""

  def __init__(self, pipe, lines=20):
    self._lines = collections.deque(maxlen=lines)
    self._thread = threading.Thread(target=self._forward, args=(pipe,), daemon=True)
    self._thread.start()

  def _forward(self, pipe):
    with pipe:
      for line in pipe:
        text = line.decode('utf-8', 'replace')
        self._lines.append(text.rstrip())
        sys.stderr.write(text)

  def text(self):
    self._thread.join(1.)  # The pipe closes once the child has gone; its last lines follow.
    return '\n'.join(self._lines)


class EnvironmentProcess:
  """One environment in a child process; `initial()`, `step(action)`, `close()` and `spec`.

  Args:
    factory: a callable that returns the environment, defined at the top level of a module the child
      can import (pickled by reference; not in the script run as __main__).
    call_timeout: seconds a call may go unanswered, with the child (and its children) using no CPU
      meanwhile, before the child is taken for hung and replaced. One still busy is waited for, up to
      `startup_timeout` in all.
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
    self._description = _describe(factory, factory_kwargs)
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
          pass_fds=(child_end.fileno(), self._shared.fd), stdin=subprocess.DEVNULL,
          stderr=subprocess.PIPE)
    self._stderr = _StderrTail(self._process.stderr)
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
      raise self._start_failure(lost) from None
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
    # A child still working is not hung: a DeepMind Lab reset compiles the next episode's map in a
    # process of its own, which takes minutes when many environments reset at once on few cores.
    # So a timeout replaces the child only if it (with its own children) used no CPU meanwhile.
    # One that spins for longer than the start-up allows is taken for hung all the same.
    # Reading the CPU time takes several /proc files, so it waits for an answer slower than
    # _QUICK_ANSWER (nearly every answer is quicker); the timeout is counted from that reading.
    deadline = time.monotonic() + max(timeout, self._startup_timeout)
    # poll() also returns when the child has gone: the pipe then reads as closed.
    if not self._connection.poll(min(timeout, _QUICK_ANSWER)):
      cpu = cpu_seconds(self.pid)
      while not self._connection.poll(timeout):
        cpu, last = cpu_seconds(self.pid), cpu
        if cpu is None or last is None or cpu <= last or time.monotonic() > deadline:
          raise _Lost(f'did not answer within {timeout:g} s, and used no CPU meanwhile'
                      if time.monotonic() <= deadline else f'was still busy after {timeout:g} s')
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
      if not self._answered_calls:
        raise self._start_failure(lost) from None
      return self._replace(lost)

  def _start_failure(self, lost):
    """The error for a child that was lost before its environment's first answer: not replaced."""
    self._kill()
    output = self._stderr.text()
    return EnvironmentProcessError(
        f'{self._description}: the environment process {lost} before its environment started '
        f'(exit code {self._process.returncode}); it was not replaced, since a new one would fail '
        f'the same way.' + (f' Its last lines on stderr:\n{output}' if output else ''))

  def _replace(self, lost):
    pid = self.pid
    self._kill()
    logger.error('Environment process %d for %s %s (exit code %s). Replacing it with a fresh one; '
                 'the episode in progress is lost.', pid, self._description, lost,
                 self._process.returncode)
    self.restarts += 1
    self._start()
    self._request('initial')
    return self._answer_or_replace()  # Its first answer: a start failure raises, never loops.

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


def _describe(factory, kwargs):
  """For messages: the levels and seeds a process plays, where its arguments name them."""
  played = kwargs.get('kwargs_list', [kwargs])
  if played and all('level_name' in each for each in played):
    return ', '.join(f'{each["level_name"]} (seed {each.get("seed")})' for each in played)
  return f'{getattr(factory, "__qualname__", factory)}({kwargs})'


@atexit.register
def _close_open_processes():
  for process in list(_open_processes):
    process.close()
