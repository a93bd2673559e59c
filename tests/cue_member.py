"""experiment.py's training on the tests' cue task, as a program: the member a PBT test's controller
starts (tests/test_pbt.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position

from cue_environment import make_cue_environment  # pylint: disable=g-import-not-at-top
from runtime import config as config_lib  # pylint: disable=g-import-not-at-top
from runtime import one_machine  # pylint: disable=g-import-not-at-top
from runtime import run_config  # pylint: disable=g-import-not-at-top

config_lib.define_flags()


def main(argv):
  del argv
  one_machine.train(run_config.resolve(config_lib.given_flags()), env_factory=make_cue_environment)


if __name__ == '__main__':
  app.run(main)
