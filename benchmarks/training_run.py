"""A training run, as experiment.py trains, for a fixed time, and the rates it reached: for the benchmarks."""
import os
import signal
import threading
import time

from baselines import asynchronous
from baselines import settings as baseline_settings
from benchmarks import proc_cpu
from runtime import one_machine


ROLES = ('environments', 'actors', 'inference', 'learner and rest')
SAMPLE_SECONDS = .5  # How often the ledger samples /proc during a training window.


def _role_of(thread_name):
  return ('actors' if thread_name.startswith('actor_') else
          'inference' if thread_name == 'dynamic_batching' else 'learner and rest')


def _running():
  """{key: (role, clock ticks so far)} of this process's threads (by the names the runtime gives
  them: 'actors', 'inference' for the batching thread, 'learner and rest' for the main thread,
  prefetching and TensorFlow's own pool) and of every process descended from it ('environments':
  the environment processes and what they start, DeepMind Lab's map compilers). Each process counts
  its own time only, so that a map compiler's CPU falls in the window it ran in, not at the window
  its environment process waited for it in. A process's key holds its start time, so a reused pid
  is another process."""
  pid = os.getpid()
  names = {thread.native_id: thread.name for thread in threading.enumerate()}
  running = {('thread', tid): (_role_of(names.get(int(tid), '')),
                               proc_cpu.ticks(f'/proc/{pid}/task/{tid}/stat'))
             for tid in os.listdir(f'/proc/{pid}/task')}
  for child in proc_cpu.descendants(pid):
    started = proc_cpu.start_time(child)
    if started is not None:
      running[('process', child, started)] = ('environments',
                                              proc_cpu.ticks(f'/proc/{child}/stat'))
  return running


class CpuLedger:
  """CPU seconds by role over a window, from /proc samples (`sample`, every SAMPLE_SECONDS): a thread
  or process keeps its last sampled time after it ends, so an environment process replaced during
  the window, a map compiler that finished or a thread that stopped still counts (up to its last
  sample: a process that lives less than SAMPLE_SECONDS may be missed), and no part can come out
  negative. Ones first seen after the window's first sample started within it (from 0)."""

  def __init__(self):
    self._first, self._last = None, {}

  def sample(self):
    running = _running()
    if self._first is None:
      self._first = {key: ticks for key, (_, ticks) in running.items()}
    self._last.update(running)

  def seconds_by_role(self):
    used = dict.fromkeys(ROLES, 0.)
    for key, (role, ticks) in self._last.items():
      used[role] += max(0, ticks - self._first.get(key, 0)) / os.sysconf('SC_CLK_TCK')
    return used


def train_for(config, seconds):
  """Trains for `seconds` after the first update (which traces the graphs), then stops as Ctrl-C
  would; returns the training function's stats, with, over those `seconds`: 'steal', the share of CPU
  time the hypervisor gave other machines, 'idle', the share no core had work (the pipeline left it
  unused), 'cpu_by_role', the CPU seconds each part of the pipeline used (`CpuLedger`),
  'ended_early', whether training stopped before the window's end, and 'window_unrolls' and
  'window_seconds', the unrolls the actors made in the window (IMPALA's pool) and its length."""
  stats = {}
  done = threading.Event()
  window = {}
  ledger = CpuLedger()
  made = lambda: stats['unrolls_enqueued']() if 'unrolls_enqueued' in stats else 0

  def stop_in_time():
    while 'first_time' not in stats:
      if done.wait(0.1):
        return
    window['start'] = proc_cpu.cpu_times()
    window['made'] = made(), time.monotonic()
    ledger.sample()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
      if done.wait(min(SAMPLE_SECONDS, max(0., deadline - time.monotonic()))):
        window['ended_early'] = True
        return
      ledger.sample()
    window['end'] = proc_cpu.cpu_times()
    (unrolls, start), end = window['made'], time.monotonic()
    stats['window_unrolls'], stats['window_seconds'] = made() - unrolls, end - start
    os.kill(os.getpid(), signal.SIGINT)

  timer = threading.Thread(target=stop_in_time, daemon=True)
  timer.start()
  try:
    train = asynchronous.train if config.agent in baseline_settings.ASYNC_AGENTS else one_machine.train
    train(config, stats=stats)
  finally:
    done.set()
    timer.join()
  if 'start' in window:
    end_cpu = window.get('end') or proc_cpu.cpu_times()
    steal, idle, total = (end - start for end, start in zip(end_cpu, window['start']))
    stats.update(steal=steal / max(1, total), idle=idle / max(1, total),
                 cpu_by_role=ledger.seconds_by_role(), ended_early=window.get('ended_early', False))
  return stats


def timed_rates(stats, name, seconds_given, frames_per_unroll=None):
  """(seconds, frames/s, updates/s) of the window after the first update (which traces).

  Frames/s counts what the actors made in the window when the run reports it: the learner's first
  update comes after its graph is traced, while the actors fill the queue and the prefetched batch,
  and on a slow learner (DeepMind Lab: a few updates a minute) that backlog, eaten within the
  window, would count frames made before it (DeepMind Lab's runs read above their ideal so). Without
  `frames_per_unroll` or that count, the learner's frames.
  """
  if frames_per_unroll and stats.get('window_unrolls'):  # A slow learner's updates may be few.
    seconds = stats['last_time'] - stats['first_time']
    return stats['window_seconds'], stats['window_unrolls'] * frames_per_unroll / stats[
        'window_seconds'], (stats['steps'] - 1) / seconds
  if stats.get('steps', 0) < 2 or 'first_time' not in stats:
    raise SystemExit(f'{name}: fewer than 2 updates in --seconds={seconds_given}; give it more '
                     'time.')
  seconds = stats['last_time'] - stats['first_time']
  return seconds, (stats['frames'] - stats['first_frames']) / seconds, (stats['steps'] - 1) / seconds
