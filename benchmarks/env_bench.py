"""Environment throughput: agent steps and frames per second, in this process and through processes.

    .venv/bin/python benchmarks/env_bench.py                          # Pong, 10 s per row, N = 1, 2, 4
    .venv/bin/python benchmarks/env_bench.py --duration=0.5 --num_processes=1   # smoke run

Actions are uniformly random. The 'in-process' row steps one environment here, with no pipe. The
'N processes' rows step N EnvironmentProcesses together (`step_many`: send every action, then collect
every result), as actors on N threads would; their rates are totals over the N environments, so they
include the pipe and pickling and show how the machine's cores scale. Frames = steps x action repeats.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=wrong-import-position

import environments  # pylint: disable=wrong-import-position


def run_for(duration, step):
  """Calls step(i) for i = 0, 1, ... until `duration` seconds have passed; returns (calls, seconds)."""
  calls, start = 0, time.perf_counter()
  while time.perf_counter() - start < duration:
    step(calls)
    calls += 1
  return calls, time.perf_counter() - start


def in_process(args, actions):
  env = environments.create_environment(args.level_name, seed=1)
  env.initial()
  steps, seconds = run_for(args.duration, lambda i: env.step(actions[i % len(actions)]))
  env.close()
  return steps, seconds


def through_processes(args, actions, num_processes):
  processes = [environments.EnvironmentProcess(environments.create_environment,
                                               level_name=args.level_name, seed=seed)
               for seed in range(1, num_processes + 1)]
  try:
    for process in processes:
      process.initial()
    # Each environment gets its own stretch of the action sequence.
    offsets = np.arange(num_processes) * 997
    calls, seconds = run_for(args.duration, lambda i: environments.step_many(
        processes, actions[(i + offsets) % len(actions)]))
  finally:
    for process in processes:
      process.close()
  return calls * num_processes, seconds


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--level_name', default='atari/pong')
  parser.add_argument('--duration', type=float, default=10., help='seconds per row')
  parser.add_argument('--num_processes', default='1,2,4',
                      help='comma-separated numbers of environment processes')
  args = parser.parse_args()
  spec = environments.environment_spec(args.level_name)
  actions = np.random.RandomState(0).randint(spec.num_actions, size=100_000)

  print(f'{args.level_name}: frame {spec.frame_shape}, {spec.num_actions} actions, '
        f'{spec.num_action_repeats} frames per step; {os.cpu_count()} CPUs')
  print(f'{"setting":<16} {"steps/s":>10} {"frames/s":>10}')
  rows = [('in-process', lambda: in_process(args, actions))]
  for n in map(int, args.num_processes.split(',')):
    rows.append((f'{n} process' + ('es' if n > 1 else ''),
                 lambda n=n: through_processes(args, actions, n)))
  for name, measure in rows:
    steps, seconds = measure()
    rate = steps / seconds
    print(f'{name:<16} {rate:>10.0f} {rate * spec.num_action_repeats:>10.0f}', flush=True)


if __name__ == '__main__':
  main()
