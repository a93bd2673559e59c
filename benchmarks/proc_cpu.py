"""CPU time from Linux's /proc, for the benchmarks: the machine's, a process's or a thread's."""
import os

from environments import proc_stat


def cpu_times():
  """(steal, idle, total) clock ticks of all CPUs since boot, from /proc/stat; zeros where it is
  missing. Idle counts I/O wait too: either way no core had work."""
  try:
    with open('/proc/stat') as f:
      ticks = [int(x) for x in f.readline().split()[1:]]
  except OSError:
    return 0, 0, 0
  return (ticks[7] if len(ticks) > 7 else 0), ticks[3] + ticks[4], sum(ticks[:8])


def ticks(stat_path, waited_children=False):
  """environments.proc_stat.stat_ticks, 0 for a process or thread that is gone."""
  try:
    return proc_stat.stat_ticks(stat_path, waited_children)
  except OSError:
    return 0


def processes_cpu_seconds(pids):
  """CPU seconds (user + system) the processes `pids` have used so far; NaN without /proc."""
  if not os.path.isdir('/proc'):
    return float('nan')
  return sum(ticks(f'/proc/{pid}/stat') for pid in pids) / os.sysconf('SC_CLK_TCK')


def start_time(pid):
  """When process `pid` started (clock ticks since boot), or None if it is gone: with the pid, it
  names one process, as pids are reused."""
  try:
    with open(f'/proc/{pid}/stat') as f:
      return int(f.read().rsplit(')', 1)[1].split()[19])
  except (OSError, IndexError, ValueError):
    return None


def descendants(pid):
  """The pids of the processes descended from `pid` (its children, theirs and so on), from /proc;
  those that end meanwhile are left out."""
  found, parents = [], [pid]
  while parents:
    try:
      children = proc_stat.child_pids(parents.pop())
    except OSError:
      continue
    found += children
    parents += children
  return found
