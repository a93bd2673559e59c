"""experiment.py's training on the tests' cue task, as a program: the member a PBT test's controller
starts (tests/test_pbt.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from runtime import startup  # pylint: disable=g-import-not-at-top
startup.import_tensorflow_quietly()  # As experiment.py: a member's log.txt without TensorFlow's notices.

import configuration  # pylint: disable=g-import-not-at-top
from cue_environment import make_cue_environment  # pylint: disable=g-import-not-at-top
from runtime import one_machine  # pylint: disable=g-import-not-at-top

configuration.define_flags()


def main(argv):
  del argv
  startup.spend_first_run_notice()
  one_machine.train(configuration.resolve(configuration.given_flags()),
                    env_factory=make_cue_environment)


if __name__ == '__main__':
  app.run(main)
