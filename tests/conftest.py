"""Test-wide settings: quiet TensorFlow; two logical CPU devices, for the learner's replicas."""
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from runtime import startup  # pylint: disable=g-import-not-at-top,wrong-import-position
startup.import_tensorflow_quietly()  # Else pytest prints TensorFlow's start-up notices after its summary.
from runtime import replicas  # pylint: disable=g-import-not-at-top,wrong-import-position

# Before any test runs TensorFlow: logical devices can only be set up before it starts.
replicas.configure_devices(2)
