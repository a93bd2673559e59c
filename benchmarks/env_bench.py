"""Environment throughput: agent steps and frames per second, in this process and through processes.

    .venv/bin/python benchmarks/env_bench.py                      # Pong, 10 s per row
    .venv/bin/python benchmarks/env_bench.py --duration=0.5 --layouts=1x1   # smoke run

Actions are uniformly random. The 'in-process' row steps one environment here, with no pipe. A layout
PxE steps P EnvironmentProcesses of E environments each (an EnvironmentGroup, as experiment.py's
--envs_per_process=E) all together (`step_many`: send every process its actions, then collect every
result), as one actor thread would; its rates are totals over the P x E environments, so they include
the pipes and show how the machine's cores scale, and what grouping saves. Frames = steps x action
repeats.
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


def through_processes(args, actions, num_processes, envs_per_process):
  processes = [environments.EnvironmentProcess(
      environments.EnvironmentGroup, factory=environments.create_environment, kwargs_list=[
          dict(level_name=args.level_name, seed=p * envs_per_process + e + 1)
          for e in range(envs_per_process)])
               for p in range(num_processes)]
  try:
    for process in processes:
      process.initial()
    # Each environment gets its own stretch of the action sequence.
    offsets = np.arange(num_processes * envs_per_process).reshape(num_processes, -1) * 997
    calls, seconds = run_for(args.duration, lambda i: environments.step_many(
        processes, actions[(i + offsets) % len(actions)].tolist()))
  finally:
    for process in processes:
      process.close()
  return calls * num_processes * envs_per_process, seconds


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--level_name', default='atari/pong')
  parser.add_argument('--duration', type=float, default=10., help='seconds per row')
  parser.add_argument('--layouts', default='1x1,2x1,4x1,16x1,4x4,2x8',
                      help='comma-separated PxE: P processes of E environments each')
  args = parser.parse_args()
  spec = environments.environment_spec(args.level_name)
  actions = np.random.RandomState(0).randint(spec.num_actions, size=100_000)

  print(f'{args.level_name}: frame {spec.frame_shape}, {spec.num_actions} actions, '
        f'{spec.num_action_repeats} frames per step; {os.cpu_count()} CPUs')
  print(f'{"setting":<28} {"steps/s":>10} {"frames/s":>10}')
  rows = [('in-process', lambda: in_process(args, actions))]
  for layout in args.layouts.split(','):
    p, e = map(int, layout.split('x'))
    rows.append((f'{p} process{"es" if p > 1 else ""} x {e} env{"s" if e > 1 else ""}',
                 lambda p=p, e=e: through_processes(args, actions, p, e)))
  for name, measure in rows:
    steps, seconds = measure()
    rate = steps / seconds
    print(f'{name:<28} {rate:>10.0f} {rate * spec.num_action_repeats:>10.0f}', flush=True)


if __name__ == '__main__':
  main()
