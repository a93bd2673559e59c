"""Environment throughput: agent steps and frames per second, in this process and through processes.

    .venv/bin/python benchmarks/env_bench.py                      # Pong, 10 s per row
    .venv/bin/python benchmarks/env_bench.py --duration=0.5 --layouts=1x1   # smoke run

Actions are uniformly random. The 'in-process' row steps one environment here, with no pipe. A layout
PxE steps P EnvironmentProcesses of E environments each (an EnvironmentGroup, as experiment.py's
--envs_per_process=E) all together (`step_many`: send every process its actions, then collect every
result), as one actor thread would; its rates are totals over the P x E environments, so they include
the pipes and show how the machine's cores scale, and what grouping saves. Frames = steps x action
repeats. "CPU us/step" is the CPU time of whatever stepped the environments (this process in-process,
the environment processes otherwise; from /proc) per agent step.

The 'in-process, idle' rows step 8 environments in turn here and then sleep (--idle_ms), as an
environment process does while it waits for its next actions: on the virtual machine this project
runs on, a core that sleeps between steps comes back to cold caches, and the step costs more CPU
(Pong, groups of 8: ~300 us a step without sleeping, ~340 with 2 ms asleep after each group).
Fewer, longer messages (more environments a process) pay that less often.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=wrong-import-position

from benchmarks import proc_cpu  # pylint: disable=wrong-import-position
import environments  # pylint: disable=wrong-import-position


def run_for(duration, step):
  """Calls step(i) for i = 0, 1, ... until `duration` seconds have passed; returns (calls, seconds)."""
  calls, start = 0, time.perf_counter()
  while time.perf_counter() - start < duration:
    step(calls)
    calls += 1
  return calls, time.perf_counter() - start


def in_process(args, actions, idle_ms=0., group=1):
  """Steps `group` environments here in turn, sleeping `idle_ms` after each round."""
  envs = [environments.create_environment(args.level_name, seed=e + 1) for e in range(group)]
  for env in envs:
    env.initial()

  def step(i):
    for e, env in enumerate(envs):
      env.step(actions[(i * group + e) % len(actions)])
    if idle_ms:
      time.sleep(idle_ms / 1000.)

  cpu_start = time.process_time()
  calls, seconds = run_for(args.duration, step)
  cpu = time.process_time() - cpu_start
  for env in envs:
    env.close()
  return calls * group, seconds, cpu


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
    cpu_start = proc_cpu.processes_cpu_seconds(p.pid for p in processes)
    calls, seconds = run_for(args.duration, lambda i: environments.step_many(
        processes, actions[(i + offsets) % len(actions)].tolist()))
    cpu = proc_cpu.processes_cpu_seconds(p.pid for p in processes) - cpu_start
  finally:
    for process in processes:
      process.close()
  return calls * num_processes * envs_per_process, seconds, cpu


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--level_name', default='atari/pong')
  parser.add_argument('--duration', type=float, default=10., help='seconds per row')
  parser.add_argument('--layouts', default='1x1,2x1,4x1,16x1,4x4,2x8,4x32',
                      help='comma-separated PxE: P processes of E environments each')
  parser.add_argument('--idle_ms', default='0.5,2', help='comma-separated sleeps for the '
                      '"in-process, idle" rows (groups of 8 environments); empty for none')
  args = parser.parse_args()
  spec = environments.environment_spec(args.level_name)
  actions = np.random.RandomState(0).randint(spec.num_actions, size=100_000)

  print(f'{args.level_name}: frame {spec.frame_shape}, {spec.num_actions} actions, '
        f'{spec.num_action_repeats} frames per step; {os.cpu_count()} CPUs')
  print(f'{"setting":<32} {"steps/s":>10} {"frames/s":>10} {"CPU us/step":>12}')
  rows = [('in-process', lambda: in_process(args, actions))]
  for idle_ms in [float(x) for x in args.idle_ms.split(',') if x]:
    rows.append((f'in-process, 8 envs, idle {idle_ms:g} ms',
                 lambda idle_ms=idle_ms: in_process(args, actions, idle_ms, group=8)))
  for layout in args.layouts.split(','):
    p, e = map(int, layout.split('x'))
    rows.append((f'{p} process{"es" if p > 1 else ""} x {e} env{"s" if e > 1 else ""}',
                 lambda p=p, e=e: through_processes(args, actions, p, e)))
  for name, measure in rows:
    steps, seconds, cpu = measure()
    rate = steps / seconds
    print(f'{name:<32} {rate:>10.0f} {rate * spec.num_action_repeats:>10.0f} '
          f'{cpu / steps * 1e6:>12.0f}', flush=True)


if __name__ == '__main__':
  main()
