"""The first screen: TensorFlow's start-up notices are filtered, everything else is kept."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(script, timeout):
  """Runs `script` in a fresh interpreter in the repository; its finished process."""
  return subprocess.run([sys.executable, '-c', script], cwd=REPO, capture_output=True, text=True,
                        timeout=timeout, check=True)


def test_start_up_notices_are_filtered_and_other_lines_kept():
  script = ('import os, sys\n'
            'from runtime import startup\n'
            'with startup._stderr_filtered(lambda line: "notice" in line):\n'
            '  os.write(2, b"a notice\\nkept line\\n")\n'
            '  print("python line", file=sys.stderr)\n'
            'print("after", file=sys.stderr)\n')
  done = run_python(script, timeout=60)
  assert done.stderr == 'kept line\npython line\nafter\n'


def test_the_program_starts_without_tensorflows_notices(tmp_path):
  done = subprocess.run([sys.executable, 'experiment.py', '--level_name=atari/pong', '--num_actors=0',
                         f'--logdir={tmp_path}'], cwd=REPO, capture_output=True, text=True,
                        timeout=120, check=False)
  assert '--num_actors must be positive' in done.stderr  # The run stops at the flags, after startup.
  for notice in ('cuInit', 'oneDNN custom operations', 'cuda drivers', 'InitializeLog'):
    if notice == 'cuInit' and os.path.exists('/dev/nvidiactl'):
      continue
    assert notice not in done.stderr


def test_onednns_data_type_notice_is_spent_at_start_up():
  # oneDNN says it once per process, at the first compiled uint8 or bool op (the first training step).
  script = ('from runtime import startup\n'
            'startup.import_tensorflow_quietly()\n'
            'startup.spend_first_run_notice()\n'
            'import tensorflow as tf\n'
            'tf.function(lambda x: tf.transpose(x > 0))(tf.ones([4, 4], tf.uint8))\n'
            'tf.function(tf.transpose)(tf.ones([4, 4], tf.uint8))\n'
            'print("ran")\n')
  done = run_python(script, timeout=120)
  assert done.stdout == 'ran\n'
  assert 'AVX-512' not in done.stderr


def test_the_checkpoint_savers_notice_is_dropped_and_the_programs_lines_kept(tmp_path):
  script = ('from absl import logging\n'
            'from runtime import startup\n'
            'startup.import_tensorflow_quietly()\n'
            'startup.import_tensorflow_quietly()\n'  # Twice, as benchmarks may: still one filter.
            'import tensorflow as tf\n'
            'logging.set_verbosity(logging.INFO)\n'
            f'manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.)), {str(tmp_path)!r}, 3)\n'
            'manager.save(checkpoint_number=5)\n'
            'logging.info("Saved checkpoint at 5 frames.")\n'
            'print(len(logging.get_absl_logger().filters))\n')
  done = run_python(script, timeout=120)
  assert done.stdout == '1\n'
  assert 'Saved checkpoint at 5 frames.' in done.stderr
  assert 'Sharding callback' not in done.stderr
