"""The Docker image, built and run on this machine: the evidence docs/docker.md reports.

As root, after `docker/build_offline.sh` (which writes the build's log with each line's second):

    python3 benchmarks/docker_image.py [--image=impala] [--log=/var/tmp/impala_image/build.log]

From the log: each stage's wall time and the test suite's counts inside the build. Then, each in a
container of the image (podman with runc and the ulimits this machine allows): the default command,
a run whose logdir is a host folder and a second run that resumes from it, one frame of a level
rendered, `--local_cluster`, and whether network namespaces can be made. Writes
benchmarks/results/docker_image.md, docker_image_curve.png (the host volume's learning_curve.png)
and docs/images/docker_frame.png. Standard library only.
"""
import argparse
import collections
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, 'benchmarks', 'results', 'docker_image.md')
FRAME = os.path.join(REPO, 'docs', 'images', 'docker_frame.png')
CURVE = os.path.join(REPO, 'benchmarks', 'results', 'docker_image_curve.png')  # The volume run's.
# What this machine lets a container have: its own limits cannot be raised, and crun fails on its
# hybrid cgroups (docs/docker.md).
PODMAN_RUN = ['podman', '--runtime', 'runc', 'run', '--rm', '--ulimit', 'nofile=16384:16384',
              '--ulimit', 'nproc=32768:32768']
LEVEL = 'explore_goal_locations_small'
STEP = re.compile(r'^\s*(\d+) \[(\d+)/(\d+)\] STEP (\d+)/(\d+): (.*)$')
STAMPED = re.compile(r'^\s*(\d+) (.*)$')


def build_stages(log_lines):
  """[(what, seconds)]: the build's parts, each step timed to the start of the next line's step."""
  starts = []  # (second, text) of each step, and of the base and the end.
  for line in log_lines:
    step = STEP.match(line)
    stamped = STAMPED.match(line)
    if step:
      starts.append((int(step.group(1)), step.group(6)))
    elif stamped and stamped.group(2).startswith('=== '):
      starts.append((int(stamped.group(1)), stamped.group(2)))
  parts = collections.OrderedDict()
  for (start, text), (end, _) in zip(starts, starts[1:]):
    parts[part_of(text)] = parts.get(part_of(text), 0) + end - start
  return list(parts.items())


def part_of(step):
  """The part of the build (the issue's stages) a step or marker belongs to."""
  if step.startswith('=== base') and step.endswith(' ready'):
    return 'the build context: the mirror and certificates copied in'
  if step.startswith('=== base'):
    return 'base: debootstrap + import'
  if 'install_system.sh' in step:
    return 'system stage: Debian\'s Python, make (apt)'
  if 'fetch_stimuli.sh' in step:
    return 'the stimuli'
  if 'build_dmlab.sh' in step:
    return 'DeepMind Lab (apt, sources, Bazel, wheel)'
  if 'make install' in step:
    return '`make install` (.venv, the DeepMind Lab wheel)'
  if 'make test' in step:
    return '`make test`'
  return 'everything else (copies, image commits)'


def suite_counts(log_lines):
  """The pytest summary line of the build's `make test`, and its DeepMind Lab tests by outcome."""
  summary = next((line for line in reversed(log_lines) if re.search(r'\d+ passed.* in ', line)), '')
  real = collections.Counter()
  skipped = []
  for line in log_lines:
    match = re.search(r'(PASSED|FAILED|SKIPPED) \[?\d*\]? ?(tests/test_dmlab_real\.py\S*)', line)
    if match:
      real[match.group(1)] += 1
    match = re.search(r'SKIPPED \[\d+\] (\S+): (.*)$', line)
    if match:
      skipped.append(f'{match.group(1)}: {match.group(2)}')
  return re.sub(r'^\s*\d+ ', '', summary).strip('= '), real, skipped


def run(arguments, timeout=1800):
  """(exit status, output, seconds) of a command, its output also printed as it comes."""
  print('$', ' '.join(arguments), flush=True)
  start = time.monotonic()
  process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  lines = []
  for line in process.stdout:
    print('   ', line, end='', flush=True)
    lines.append(line)
  process.wait(timeout=timeout)
  return process.returncode, ''.join(lines), time.monotonic() - start


def container(image, command=(), volume=None, env=()):
  arguments = list(PODMAN_RUN)
  if volume:
    arguments += ['-v', f'{volume}:/agent']
  for name_value in env:
    arguments += ['-e', name_value]
  return run(arguments + [image] + list(command))


def last_frames(logdir):
  """The newest checkpoint's name: ckpt-<frames trained>."""
  with open(os.path.join(logdir, 'checkpoint')) as f:
    return os.path.basename(re.search(r'model_checkpoint_path: "(.*)"', f.read()).group(1))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--image', default='impala')
  parser.add_argument('--log', default='/var/tmp/impala_image/build.log')
  args = parser.parse_args()
  with open(args.log) as f:
    log_lines = f.read().splitlines()
  stages = build_stages(log_lines)
  summary, real, skipped = suite_counts(log_lines)
  size = json.loads(subprocess.run(['podman', 'image', 'inspect', args.image], capture_output=True,
                                   text=True, check=True).stdout)[0]['Size']
  rows = []  # (what, result, seconds)

  status, output, seconds = container(args.image)
  table = '\n'.join(output.strip().splitlines()[-25:])
  rows.append(('default command (`podman run --rm impala`: docker/demo.sh, 20,000 frames then 2 test '
               'episodes)', 'exit 0' if status == 0 else f'exit {status}', seconds))

  # Long enough for episodes (one of explore_goal_locations_small is 21,600 frames; 4 actors), so
  # that learning_curve.png has returns to draw.
  host = tempfile.mkdtemp(prefix='impala_volume_')
  status, output, seconds = container(args.image, volume=host, env=['LOGDIR=/agent', 'FRAMES=100000'])
  kept = sorted(name for name in os.listdir(host)
                if name in ('checkpoint', 'learning_curve.png', 'config.json', 'evaluation.json'))
  rows.append((f'logdir on a host volume (-v {host}:/agent -e LOGDIR=/agent -e FRAMES=100000)',
               f'exit {status}; on the host: {", ".join(kept)}; newest checkpoint '
               f'{last_frames(host) if "checkpoint" in kept else "none"}', seconds))
  status, output, seconds = container(args.image, volume=host, env=['LOGDIR=/agent', 'FRAMES=140000'])
  restored = re.search(r'Restored (\S+) at (\d+) frames', output)
  rows.append(('the same again with FRAMES=140000: resumes',
               f'exit {status}; ' + (f'restored {os.path.basename(restored.group(1))} at '
                                     f'{int(restored.group(2)):,} frames' if restored else
                                     'did NOT restore') +
               f'; newest checkpoint {last_frames(host)}', seconds))
  curve = os.path.join(host, 'learning_curve.png')
  if os.path.exists(curve):
    shutil.copyfile(curve, CURVE)

  frame_dir = tempfile.mkdtemp(prefix='impala_frame_')
  status, output, seconds = container(
      args.image, ['python', 'docker/render_frame.py', f'--level={LEVEL}', '--out=/agent/frame.png'],
      volume=frame_dir, env=['PYTHONPATH=/opt/impala'])  # Images before render_frame.py set its path.
  if status == 0:
    os.makedirs(os.path.dirname(FRAME), exist_ok=True)
    shutil.copyfile(os.path.join(frame_dir, 'frame.png'), FRAME)
  rows.append((f'one frame of {LEVEL} rendered in the image', f'exit {status}: '
               + output.strip().splitlines()[-1][:160], seconds))

  status, output, seconds = container(args.image, [
      'python', 'experiment.py', '--local_cluster', '--level_name=atari/pong', '--num_actors=4',
      '--num_actor_tasks=2', '--batch_size=4', '--unroll_length=20',
      '--total_environment_frames=20000', '--logdir=/tmp/local_cluster'])
  finished = len(re.findall(r'The learner has finished', output))
  rows.append(('`experiment.py --local_cluster` (a learner, 2 actor tasks, Pong, 20,000 frames) in one '
               'container', f'exit {status}; {finished} of 2 actor tasks saw the learner finish', seconds))

  status, output, seconds = container(args.image, ['sh', '-c', 'command -v ip || echo no ip; '
                                                   'unshare --net true && echo namespaces: yes'])
  rows.append(('network namespaces in a container (benchmarks/netns_hosts.py)',
               'no: ' + output.strip().splitlines()[-1][:160] if status else 'yes', seconds))

  write(stages, summary, real, skipped, size, rows, table, curve)


def write(stages, summary, real, skipped, size, rows, table, curve):
  lines = [f'# The Docker image, built and run here ({datetime.date.today()})', '',
           'Machine: the project\'s 2-core / 24 GiB CPU VM, no GPU; podman 4.3 with buildah\'s chroot '
           'isolation and runc (docs/docker.md). Built by `docker/build_offline.sh`, which is '
           '`make image` with three build arguments changed (the base from debootstrap, DeepMind '
           'Lab\'s sources from bare git mirrors, no stimuli); produced by '
           '`benchmarks/docker_image.py`.', '',
           '## The build, stage by stage', '', '| part | wall time |', '|---|---|']
  lines += [f'| {what} | {seconds // 60} min {seconds % 60:02d} s |' for what, seconds in stages]
  total = sum(seconds for _, seconds in stages)
  lines += [f'| **all** | **{total // 60} min {total % 60:02d} s** |', '',
            f'Image size: {size / 1e9:.2f} GB ({size:,} bytes).', '',
            '## `make test` inside the build', '', f'Summary: `{summary}`.', '',
            f'DeepMind Lab\'s own tests (tests/test_dmlab_real.py): {real["PASSED"]} passed, '
            f'{real["FAILED"]} failed, {real["SKIPPED"]} skipped.', '', 'Skipped, with the reason:', '']
  lines += [f'- {reason}' for reason in skipped] or ['- none']
  lines += ['', '## Runs of the image', '', '| what | result | seconds |', '|---|---|---|']
  lines += [f'| {what} | {result} | {seconds:.0f} |' for what, result, seconds in rows]
  lines += ['', 'The default command\'s last lines (test mode\'s table):', '', '```', table, '```',
            '']
  with open(RESULTS, 'w') as f:
    f.write('\n'.join(lines))
  print(f'Wrote {RESULTS}' + (f' and {FRAME}' if os.path.exists(FRAME) else '') +
        (f' and {CURVE}' if os.path.exists(curve) else ''))


if __name__ == '__main__':
  main()
