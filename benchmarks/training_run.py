"""A training run of experiment.py for a fixed time, and the rates it reached: for the benchmarks."""
import os
import signal
import threading

import experiment


def cpu_times():
  """(steal, idle, total) clock ticks of all CPUs since boot, from /proc/stat; zeros where it is
  missing. Idle counts I/O wait too: either way no core had work."""
  try:
    with open('/proc/stat') as f:
      ticks = [int(x) for x in f.readline().split()[1:]]
  except OSError:
    return 0, 0, 0
  return (ticks[7] if len(ticks) > 7 else 0), ticks[3] + ticks[4], sum(ticks[:8])


def train_for(config, seconds):
  """Trains for `seconds` after the first update (which traces the graphs), then stops as Ctrl-C
  would; returns experiment.train's stats, with 'steal', the share of CPU time the hypervisor gave
  other machines meanwhile, and 'idle', the share no core had work (the pipeline left it unused)."""
  stats = {}
  done = threading.Event()

  def stop_in_time():
    while 'first_time' not in stats:
      if done.wait(0.1):
        return
    if not done.wait(seconds):
      os.kill(os.getpid(), signal.SIGINT)

  timer = threading.Thread(target=stop_in_time, daemon=True)
  start = cpu_times()
  timer.start()
  try:
    experiment.train(config, stats=stats)
  finally:
    done.set()
    timer.join()
  steal, idle, total = (end - start for end, start in zip(cpu_times(), start))
  stats['steal'] = steal / max(1, total)
  stats['idle'] = idle / max(1, total)
  return stats


def timed_rates(stats, name, seconds_given):
  """(seconds, frames/s, updates/s) from the first update (which traces) to the end of the run."""
  if stats.get('steps', 0) < 2 or 'first_time' not in stats:
    raise SystemExit(f'{name}: fewer than 2 updates in --seconds={seconds_given}; give it more '
                     'time.')
  seconds = stats['last_time'] - stats['first_time']
  return (seconds, (stats['frames'] - stats['first_frames']) / seconds,
          (stats['steps'] - 1) / seconds)
