"""Memory of environment processes, one level each: how many DMLab-30 levels a machine can hold.

    .venv/bin/python benchmarks/env_memory.py --level_name=dmlab30 --exclude_levels=natlab_fixed_large_map,...
    .venv/bin/python benchmarks/env_memory.py --level_name=explore_goal_locations_small

Starts one environment process per level the run would play (the DMLab-30 training levels but those
--exclude_levels leaves out, or the one level), plays --steps random steps in each (maps, textures
and bots loaded), then reads each process's memory from /proc: RSS (resident, counting shared pages
in full) and PSS (shared pages divided among the processes that map them: what the processes cost
together is the sum of their PSS). Writes a table, and with --csv the rows.
"""
import argparse
import csv
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=wrong-import-position

import configuration  # pylint: disable=wrong-import-position
import environments  # pylint: disable=wrong-import-position
from runtime import levels as levels_lib  # pylint: disable=wrong-import-position


def memory_mb(pid):
  """(RSS, PSS) of process `pid` in MB, from /proc/<pid>/smaps_rollup."""
  values = {}
  with open(f'/proc/{pid}/smaps_rollup') as f:
    for line in f:
      name, _, rest = line.partition(':')
      if name in ('Rss', 'Pss'):
        values[name] = int(rest.split()[0]) / 1024  # kB
  return values['Rss'], values['Pss']


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--level_name', default='dmlab30')
  parser.add_argument('--exclude_levels', default='')
  parser.add_argument('--dataset_path', default='')
  parser.add_argument('--steps', type=int, default=300)
  parser.add_argument('--csv', default='')
  args = parser.parse_args()
  config = configuration.build(level_name=args.level_name, exclude_levels=args.exclude_levels,
                               dataset_path=args.dataset_path, num_actors=30)
  levels = list(dict.fromkeys(levels_lib.actor_levels(config)))  # Each once, in the suite's order.
  rng = np.random.default_rng(0)
  start = time.monotonic()
  processes = [environments.EnvironmentProcess(
      environments.create_environment, level_name=level, seed=1, is_test=False,
      config=config.env_config) for level in levels]
  rows = []
  try:
    for process in processes:
      process.initial()
    print(f'{len(levels)} levels started in {time.monotonic() - start:.0f} s; {args.steps} random '
          'steps each.', flush=True)
    for _ in range(args.steps):
      environments.step_many(processes, rng.integers(9, size=len(processes)).tolist())
    for level, process in zip(levels, processes):
      rows.append((level,) + memory_mb(process.pid))
  finally:
    for process in processes:
      process.close()
  print(f'{"level":<40}{"RSS MB":>9}{"PSS MB":>9}')
  for level, rss, pss in rows:
    print(f'{level:<40}{rss:>9.0f}{pss:>9.0f}')
  rss, pss = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
  print(f'{"all " + str(len(rows)) + " processes":<40}{rss.sum():>9.0f}{pss.sum():>9.0f}')
  print(f'per process: RSS {np.median(rss):.0f} MB median ({rss.min():.0f}-{rss.max():.0f}), PSS '
        f'{np.median(pss):.0f} MB median ({pss.min():.0f}-{pss.max():.0f})')
  if args.csv:
    with open(args.csv, 'w', newline='') as f:
      writer = csv.writer(f)
      writer.writerow(['level', 'rss_mb', 'pss_mb'])
      writer.writerows((level, round(r), round(p)) for level, r, p in rows)


if __name__ == '__main__':
  main()
