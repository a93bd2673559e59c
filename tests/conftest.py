"""Test-wide settings: quiet TensorFlow, keep it to the cores the suite is given."""
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl.testing import flagsaver
import pytest


@pytest.fixture
def parsed_flags():
  """Flags read as parsed (their defaults), and restored after the test."""
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  with flagsaver.flagsaver():
    yield
