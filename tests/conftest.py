"""Test-wide settings: quiet TensorFlow, keep it to the cores the suite is given."""
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
