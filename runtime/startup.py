"""A clean first screen: TensorFlow's start-up notices filtered out of stderr.

TensorFlow 2.21 writes its start-up lines before its logging is set up, so TF_CPP_MIN_LOG_LEVEL does
not hold them back (measured: the oneDNN, CPU-instruction and CUDA-driver notices at import, and on a
machine without a GPU, 'failed call to cuInit: ... CUDA error' as an error when devices are listed,
which reads as a failure; on CPUs without AVX-512, oneDNN's data-type notice, also as an error, at the
first training step). This module imports TensorFlow and lists its GPUs with the process's stderr
captured, then passes on every line but those notices; it also drops the line TensorFlow's checkpoint
saver logs at every save and the session configuration a cluster task logs when it connects. Nothing
here imports TensorFlow at import time.
"""
import contextlib
import logging
import os
import sys
import tempfile

# Lines TensorFlow writes at start-up that say nothing is wrong.
NOTICES = (
    'All log messages before absl::InitializeLog() is called are written to STDERR',
    'oneDNN custom operations are on',
    'Could not find cuda drivers on your machine',
    'This TensorFlow binary is optimized to use available CPU instructions',
    'To enable the following instructions:',
)
# Without an NVIDIA driver, TensorFlow's failed attempt at CUDA is expected too.
NO_DRIVER_NOTICES = ('failed call to cuInit',)
# TensorFlow's checkpoint saver logs this through absl, as the program logs, at every checkpoint.
CHECKPOINT_NOTICE = 'Sharding callback duration'
# A cluster task's connect_to_cluster logs its whole session configuration, 20 lines of protobuf.
SESSION_CONFIG_NOTICE = 'default session config'
# On CPUs without AVX-512, oneDNN says once per process, as an error, that it leaves some data types
# to Eigen; it would say so at the first training or inference step. spend_first_run_notice provokes
# it while the capture is on, so that the process has spent it.
ONE_DNN_NOTICE = 'only on platforms with AVX-512. Falling back to the default Eigen-based'


@contextlib.contextmanager
def _stderr_filtered(is_notice):
  """Captures file descriptor 2 (where TensorFlow's C++ side writes) and replays what it wrote, less
  the lines `is_notice` accepts."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      captured.seek(0)
      for line in captured.read().decode(errors='replace').splitlines(keepends=True):
        if not is_notice(line):
          sys.stderr.write(line)
      sys.stderr.flush()


def import_tensorflow_quietly():
  """Imports TensorFlow and finds its GPUs, without the start-up notices (nor, from then on, the
  checkpoint saver's); returns the GPUs."""
  found = []
  has_driver = os.path.exists('/dev/nvidiactl')

  def is_notice(line):
    return any(n in line for n in NOTICES) or (
        not has_driver and not found and any(n in line for n in NO_DRIVER_NOTICES))

  with _stderr_filtered(is_notice):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    found.extend(tf.config.list_physical_devices('GPU'))
  logging.getLogger('absl').addFilter(_keep_unless_checkpoint_notice)  # Added once however often.
  logging.getLogger('tensorflow').addFilter(_keep_unless_session_config)
  return found


def _keep_unless_checkpoint_notice(record):
  return not str(record.msg).startswith(CHECKPOINT_NOTICE)


def _keep_unless_session_config(record):
  return not str(record.msg).startswith(SESSION_CONFIG_NOTICE)


def spend_first_run_notice():
  """Runs a uint8 transpose in a graph (what makes oneDNN say it, measured) with the notice filtered.
  This starts TensorFlow's runtime: call it after any logical devices are set up."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  with _stderr_filtered(lambda line: ONE_DNN_NOTICE in line), tf.device('/CPU:0'):
    tf.function(tf.transpose)(tf.zeros([2, 2], tf.uint8))
