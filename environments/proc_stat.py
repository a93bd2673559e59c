"""CPU time of processes from Linux's /proc: what an environment process and the map compilers it
starts have used (environments.process tells a slow environment from a hung one by it; the benchmarks
account by it)."""
import os


def stat_ticks(stat_path, waited_children=False):
  """utime + stime clock ticks from a /proc .../stat file (a process's or a thread's); OSError if it
  is gone. waited_children: add those of the children it has waited for (cutime + cstime): DeepMind
  Lab compiles each episode's map in such children, and that costs more than its own steps."""
  with open(stat_path) as f:
    fields = f.read().rsplit(')', 1)[1].split()  # After the name, which may hold spaces.
  return sum(int(x) for x in fields[11:15 if waited_children else 13])


def child_pids(pid):
  """The pids of process `pid`'s children (each of its threads' children); OSError if it is gone."""
  children = []
  for thread in os.listdir(f'/proc/{pid}/task'):
    try:
      with open(f'/proc/{pid}/task/{thread}/children') as f:
        children += f.read().split()
    except FileNotFoundError:
      pass  # A thread that ended meanwhile: its children went to another thread.
  return children


def cpu_seconds(pid):
  """CPU seconds process `pid` and its descendants have used, the descendants it waited for
  included; None without Linux's /proc."""
  try:
    ticks = stat_ticks(f'/proc/{pid}/stat', waited_children=True)
    children = child_pids(pid)
  except (OSError, IndexError, ValueError):
    return None
  return ticks / os.sysconf('SC_CLK_TCK') + sum(cpu_seconds(child) or 0. for child in children)
