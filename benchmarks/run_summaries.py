"""The scalars a run logged (tf.summary.scalar, kept as tensors in its TensorBoard event files), read
with TensorBoard's own reader. Shared by table2.py and learning_diagnostics.py."""
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runtime import startup  # pylint: disable=g-import-not-at-top,wrong-import-position
# TensorBoard's reader imports TensorFlow where it is installed: without its start-up notices.
startup.import_tensorflow_quietly()
from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top,wrong-import-position
from tensorboard.util import tensor_util  # pylint: disable=g-import-not-at-top,wrong-import-position

logging.getLogger('tensorboard').setLevel(logging.WARNING)  # Not its 'No path found after <file>'.


def scalar_series(logdir, tags):
  """{tag: [(step, value), ...] in step order} for each of `tags`; [] for a tag the run never logged."""
  accumulator = event_accumulator.EventAccumulator(
      logdir, size_guidance={event_accumulator.TENSORS: 0})  # 0: keep every event, not a sample.
  accumulator.Reload()
  logged = set(accumulator.Tags()[event_accumulator.TENSORS])
  return {tag: sorted((event.step, float(tensor_util.make_ndarray(event.tensor_proto)))
                      for event in accumulator.Tensors(tag)) if tag in logged else []
          for tag in tags}
