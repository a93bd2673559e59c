"""Frames/s of a learner with N actor processes, beside the single-process run at the same settings.

    .venv/bin/python benchmarks/cluster_throughput.py [--seconds=60] [--actor_tasks=1,2,4]

Every run is `experiment.py` on Atari Pong with the paper's Atari settings and `--num_actors` actors:
once as one process (actors in threads), then with `--local_cluster` and each number of actor tasks
(the actors split among them). The rate is read off the learner's progress lines, from its first line
to its last, so start-up is left out.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_integer('seconds', 60, 'Seconds per run.')
flags.DEFINE_list('actor_tasks', ['1', '2', '4'], 'Numbers of actor processes to try.')
flags.DEFINE_integer('num_actors', 16, 'Actors in every run.')
FLAGS = flags.FLAGS

_PROGRESS = re.compile(r'^I\d{4} (\d\d):(\d\d):(\d\d\.\d+) .*\] frames (\d+) \(', re.MULTILINE)


def frames_per_second(output):
  points = [(int(h) * 3600 + int(m) * 60 + float(s), int(f)) for h, m, s, f in _PROGRESS.findall(output)]
  if len(points) < 2:
    return float('nan')
  (t0, f0), (t1, f1) = points[0], points[-1]
  return (f1 - f0) / ((t1 - t0) % 86400)


def run(extra):
  with tempfile.TemporaryDirectory() as logdir, tempfile.TemporaryFile('w+') as log:
    command = [sys.executable, 'experiment.py', '--level_name=atari/pong', f'--logdir={logdir}',
               f'--num_actors={FLAGS.num_actors}', '--actor_threads=2', '--summary_secs=5',
               '--total_environment_frames=1000000000'] + extra
    process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    time.sleep(FLAGS.seconds)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    log.seek(0)
    return frames_per_second(log.read())


def main(argv):
  del argv
  rows = [('1 process (actors in threads)', run([]))]
  for tasks in FLAGS.actor_tasks:
    rows.append((f'learner + {tasks} actor processes', run([
        '--local_cluster', f'--num_actor_tasks={tasks}', f'--learner_address=localhost:{free_port()}'])))
  print(f'\nAtari Pong, shallow network, paper Atari settings, {FLAGS.num_actors} actors, '
        f'{os.cpu_count()} cores, {FLAGS.seconds} s per run:')
  for name, fps in rows:
    print(f'  {name:<34}{fps:>8.0f} frames/s')


def free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


if __name__ == '__main__':
  app.run(main)
