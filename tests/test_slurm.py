"""The example Slurm job, submitted with sbatch to a real Slurm on this machine.

cluster/slurm/local_slurm.sh starts Debian's slurm-wlm (munged, slurmctld, slurmd) here; where it
cannot (not installed, not root), the test is skipped with its reason.
"""
import os
import subprocess
import sys

import pytest
import tensorflow as tf

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


def test_the_example_job_trains_checkpoints_and_ends(slurm_environment, tmp_path):
  logdir = tmp_path / 'run'
  output = tmp_path / 'job.out'
  job = subprocess.run(
      ['sbatch', '--wait', '--ntasks=4', f'--chdir={REPO}', f'--output={output}',
       os.path.join(SCRIPTS, 'impala.sbatch'), '--level_name=atari/pong', '--num_actors=3',
       '--batch_size=2', f'--total_environment_frames={FRAMES}', f'--logdir={logdir}',
       '--checkpoint_secs=5', '--summary_secs=2'],
      env=slurm_environment, capture_output=True, text=True, timeout=400, check=False)
  log = output.read_text(errors='replace') if output.exists() else ''
  assert job.returncode == 0, job.stderr + log[-4000:]
  # Task 0 trained to the budget and checkpointed it; each of the 3 actor tasks ended with it.
  checkpoint = tf.train.latest_checkpoint(logdir)
  assert tf.train.load_variable(checkpoint, 'num_env_frames/.ATTRIBUTES/VARIABLE_VALUE') == FRAMES
  assert 'listens on port 8001 of every network interface' in log
  assert log.count('The learner has finished: stopping.') == 3
  assert sorted(int(line.split('Actor task ')[1].split()[0]) for line in log.splitlines()
                if 'Actor task ' in line and ' plays actors ' in line) == [0, 1, 2]
  assert 'Traceback' not in log
