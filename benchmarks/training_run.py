"""A training run, as experiment.py trains, for a fixed time, and the rates it reached: for the benchmarks."""
import collections
import os
import signal
import threading

from baselines import asynchronous
from baselines import settings as baseline_settings
from benchmarks import proc_cpu
from runtime import one_machine


def cpu_by_role():
  """CPU seconds used so far, by role: this process's threads by the names the runtime gives them
  ('actors', 'inference': the batching thread; 'learner and rest': the main thread, prefetching, and
  TensorFlow's own thread pool, which runs the learner's ops and part of inference's), and its child
  processes with the children they waited for ('environments'). Empty without /proc."""
  task_dir = f'/proc/{os.getpid()}/task'
  if not os.path.isdir(task_dir):
    return {}
  names = {thread.native_id: thread.name for thread in threading.enumerate()}
  ticks = collections.Counter()
  children = set()
  for tid in os.listdir(task_dir):
    name = names.get(int(tid), '')
    role = ('actors' if name.startswith('actor_') else
            'inference' if name == 'dynamic_batching' else 'learner and rest')
    ticks[role] += proc_cpu.ticks(f'{task_dir}/{tid}/stat')
    try:
      with open(f'{task_dir}/{tid}/children') as f:
        children.update(f.read().split())
    except OSError:
      pass
  ticks['environments'] = sum(proc_cpu.ticks(f'/proc/{child}/stat', waited_children=True)
                               for child in children)
  hz = os.sysconf('SC_CLK_TCK')
  return {role: count / hz for role, count in ticks.items()}


def train_for(config, seconds):
  """Trains for `seconds` after the first update (which traces the graphs), then stops as Ctrl-C
  would; returns the training function's stats, with, over those `seconds`: 'steal', the share of CPU time
  the hypervisor gave other machines, 'idle', the share no core had work (the pipeline left it
  unused), and 'cpu_by_role', the CPU seconds each part of the pipeline used (`cpu_by_role`)."""
  stats = {}
  done = threading.Event()
  window = {}

  def stop_in_time():
    while 'first_time' not in stats:
      if done.wait(0.1):
        return
    window['start'] = proc_cpu.cpu_times(), cpu_by_role()
    if not done.wait(seconds):
      window['end'] = proc_cpu.cpu_times(), cpu_by_role()
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
    window.setdefault('end', (proc_cpu.cpu_times(), cpu_by_role()))  # The run ended before its time.
    (start_cpu, start_roles), (end_cpu, end_roles) = window['start'], window['end']
    steal, idle, total = (end - start for end, start in zip(end_cpu, start_cpu))
    stats['steal'] = steal / max(1, total)
    stats['idle'] = idle / max(1, total)
    stats['cpu_by_role'] = {role: end_roles[role] - start_roles.get(role, 0.) for role in end_roles}
  return stats


def timed_rates(stats, name, seconds_given):
  """(seconds, frames/s, updates/s) from the first update (which traces) to the end of the run."""
  if stats.get('steps', 0) < 2 or 'first_time' not in stats:
    raise SystemExit(f'{name}: fewer than 2 updates in --seconds={seconds_given}; give it more '
                     'time.')
  seconds = stats['last_time'] - stats['first_time']
  return (seconds, (stats['frames'] - stats['first_frames']) / seconds,
          (stats['steps'] - 1) / seconds)
