"""The example Slurm jobs, submitted with sbatch to a real Slurm on this machine.

cluster/slurm/local_slurm.sh starts Debian's slurm-wlm (munged, slurmctld, two slurmds: nodes of
partitions gpu and cpu) here; where it cannot (not installed, not root), the tests are skipped with
the reason.
"""
import os
import re
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from runtime import schedulers
from tests.test_distributed import REPO

SCRIPTS = os.path.join(REPO, 'cluster', 'slurm')
FRAMES = 60 * 160  # 60 learner steps of 2 unrolls of 20 agent steps of 4 frames.


@pytest.fixture(scope='module')
def slurm_environment():
  start = subprocess.run([os.path.join(SCRIPTS, 'local_slurm.sh'), 'start'], capture_output=True,
                         text=True, timeout=180, check=False)
  if start.returncode == 3:  # The script's code for "Slurm cannot run here", with its reason.
    pytest.skip(f'no Slurm here: {start.stderr.strip()}')
  assert start.returncode == 0, start.stderr
  conf = start.stdout.strip().split('export SLURM_CONF=')[-1]
  yield dict(os.environ, SLURM_CONF=conf, PYTHON=sys.executable)
  subprocess.run([os.path.join(SCRIPTS, 'local_slurm.sh'), 'stop'], check=False, timeout=60)


def sbatch(environment, tmp_path, script, *options, frames=FRAMES):
  """Submits `script` with the Pong settings: its job id."""
  job = subprocess.run(
      ['sbatch', '--parsable', f'--chdir={REPO}', f'--output={tmp_path / "job.out"}', *options,
       os.path.join(SCRIPTS, script), '--level_name=atari/pong', '--num_actors=3', '--batch_size=2',
       f'--total_environment_frames={frames}', f'--logdir={tmp_path / "run"}', '--checkpoint_secs=5',
       '--summary_secs=2'],
      env=environment, capture_output=True, text=True, timeout=60, check=True)
  return int(job.stdout.strip().split(';')[0])


def wait_until(condition, what, timeout=300):
  start = time.time()
  while not condition():
    assert time.time() < start + timeout, f'{what}: not within {timeout} s'
    time.sleep(0.5)


def job_state(environment, job_id):
  """The job's state ('' once it is no longer known: local_slurm.sh keeps no accounting)."""
  return subprocess.run(['scontrol', 'show', 'job', str(job_id)], env=environment,
                        capture_output=True, text=True, check=False).stdout.partition(
                            'JobState=')[2].split(' ')[0]


def finished(environment, job_id, tmp_path):
  """Waits for the job to end: its output."""
  wait_until(lambda: job_state(environment, job_id) in ('', 'COMPLETED', 'FAILED', 'CANCELLED',
                                                         'TIMEOUT', 'NODE_FAIL'), f'job {job_id}')
  state = job_state(environment, job_id)
  log = (tmp_path / 'job.out').read_text(errors='replace')
  assert state in ('', 'COMPLETED'), state + '\n' + log[-4000:]
  return log


def trained_frames(tmp_path):
  checkpoint = tf.train.latest_checkpoint(tmp_path / 'run')
  return checkpoint and tf.train.load_variable(checkpoint, 'num_env_frames/.ATTRIBUTES/VARIABLE_VALUE')


def check_trained_and_ended(job_id, log, tmp_path, frames=FRAMES, learner_node='localhost'):
  """Task 0 trained to the budget and checkpointed it, listening on the job's own port of
  `learner_node`, where the 3 actor tasks found it; each of them ended with it."""
  assert trained_frames(tmp_path) == frames
  port = 8001 + job_id % schedulers.SLURM_PORT_SLOTS * schedulers.SLURM_PORT_STRIDE
  assert f'listens on port {port} of every network interface' in log
  assert log.count(f'with the learner at {learner_node}:{port}.') == 3
  assert log.count('The learner has finished: stopping.') == 3
  assert sorted(int(line.split('Actor task ')[1].split()[0]) for line in log.splitlines()
                if 'Actor task ' in line and ' plays actors ' in line) == [0, 1, 2]
  assert 'Traceback' not in log


def test_the_heterogeneous_job_trains_checkpoints_and_ends(slurm_environment, tmp_path):
  """The learner in component 0 (partition gpu: node `hostname -s`), 3 actor tasks in component 1
  (partition cpu: node localhost), one srun step over both."""
  job_id = sbatch(slurm_environment, tmp_path, 'impala-het.sbatch', '--cpus-per-task=2', ':',
                  '--ntasks=3', '--cpus-per-task=1')
  log = finished(slurm_environment, job_id, tmp_path)
  host = subprocess.run(['hostname', '-s'], capture_output=True, text=True, check=True).stdout.strip()
  check_trained_and_ended(job_id, log, tmp_path, learner_node=host)


def test_the_example_job_stopped_near_its_time_limit_is_requeued_and_resumes(slurm_environment,
                                                                            tmp_path):
  """The job's --signal=TERM@120, sent here as soon as the learner has checkpointed (scancel
  --signal=TERM signals every task and not the batch script, as Slurm's time-limit warning does):
  the learner checkpoints and ends with 143, the script requeues the job, and the job, started
  again, resumes from the checkpoint and trains to its budget."""
  job_id = sbatch(slurm_environment, tmp_path, 'impala.sbatch', '--ntasks=4', frames=2 * FRAMES)
  wait_until(lambda: trained_frames(tmp_path), "the learner's first checkpoint")
  subprocess.run(['scancel', '--signal=TERM', str(job_id)], env=slurm_environment, check=True)
  requeued = 'impala.sbatch: the run stopped before its frame budget'
  try:  # Well within the 120 s the signal comes before the time limit.
    wait_until(lambda: requeued in (tmp_path / 'job.out').read_text(errors='replace'),
               'the job requeued', timeout=60)
  finally:
    if requeued not in (tmp_path / 'job.out').read_text(errors='replace'):
      subprocess.run(['scancel', str(job_id)], env=slurm_environment, check=False)
  log = finished(slurm_environment, job_id, tmp_path)
  first, _, second = log.partition(f'impala.sbatch: the run stopped before its frame budget (exit '
                                   f'143): requeueing job {job_id} (restart 1)')
  assert second, log[-4000:]
  stopped = re.search(r'Restored \S+ at (\d+) frames\.', second)
  assert stopped and 0 < int(stopped.group(1)) < 2 * FRAMES  # Resumed from the stopped learner's.
  check_trained_and_ended(job_id, second, tmp_path, frames=2 * FRAMES)
  assert 'Traceback' not in first
