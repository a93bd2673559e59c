"""experiment.py with environments that die at their first reset, as a DeepMind Lab level whose map is
missing does: `python -c 'import tests.exiting_level as m; m.main()' --logdir=...` (tests/test_levels.py).
The factory lives here, not in a script run as __main__, so environment processes can import it."""
import functools
import os
import sys

from absl import app

import environments
from environments import base


class ExitingLevel(base.Environment):
  """DeepMind Lab's shapes; the first reset prints the engine's complaint and ends the process."""

  def __init__(self, **unused_kwargs):
    self.spec = environments.environment_spec('synthetic/dmlab')

  def _begin_episode(self, first):
    sys.stderr.write("Didn't find map 'nowhere'\n: No such file or directory\n")
    sys.stderr.flush()
    os._exit(1)  # pylint: disable=protected-access


def exiting_level(**kwargs):
  return ExitingLevel(**kwargs)


def main():
  import experiment  # pylint: disable=import-outside-toplevel
  experiment.train = functools.partial(experiment.train, env_factory=exiting_level)
  sys.argv[1:1] = ['--level_name=synthetic/dmlab', '--num_actors=2', '--network=shallow']
  app.run(experiment.main)
