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

FLAGS = flags.FLAGS


def define_flags():
  """The benchmark's flags; not at import, where cluster_faults.py and tests import its parts
  beside the program's flags."""
  flags.DEFINE_integer('seconds', 60, 'Seconds per run.')
  flags.DEFINE_list('actor_tasks', ['1', '2', '4'], 'Numbers of actor processes to try.')
  flags.DEFINE_integer('num_actors', 16, 'Actors in every run.')


# A log line of experiment.py (absl's format): its time of day and the rest of the line.
_LOG_LINE = re.compile(r'^[IWEF]\d{4} (\d\d):(\d\d):(\d\d\.\d+) (.*)$', re.MULTILINE)
_PROGRESS = re.compile(r'\] frames (\d+) \(')


def log_lines(text):
  """(seconds since midnight, the rest of the line) of each log line of `text`."""
  return [(int(h) * 3600 + int(m) * 60 + float(s), line) for h, m, s, line in _LOG_LINE.findall(text)]


def progress(text):
  """(seconds since midnight, frames) of each progress line of a learner's log."""
  return [(t, int(match.group(1))) for t, line in log_lines(text)
          for match in [_PROGRESS.search(line)] if match]


def rate(points, start=0., end=float('inf')):
  """Frames/s between the first progress point at or after `start` and the last at or before `end`
  (times of day, as `progress` gives them; a run past midnight wraps)."""
  inside = [(t, f) for t, f in points if start <= t <= end]
  if len(inside) < 2:
    return float('nan')
  (t0, f0), (t1, f1) = inside[0], inside[-1]
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
    return rate(progress(log.read()))


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
  define_flags()
  app.run(main)
