"""`make train`: the program accepts its flags, and they are the recipe the documented runs measured
(docs/pong_learning.md)."""
import os
import re
import shlex

from absl import flags

import configuration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(name):
  with open(os.path.join(ROOT, name)) as f:
    return f.read()


def train_arguments():
  """The experiment.py arguments of the Makefile's train target, but its --logdir."""
  makefile = read('Makefile').replace('\\\n', ' ')
  command = next(line for line in makefile.splitlines()
                 if line.startswith('\t') and 'experiment.py' in line)
  return [a for a in shlex.split(command.split('experiment.py', 1)[1]) if not a.startswith('--logdir=')]


def test_make_train_gives_flags_the_program_accepts(tmp_path):
  flag_values = flags.FlagValues()
  configuration.define_flags(flag_values)
  flag_values(['experiment.py', *train_arguments(), f'--logdir={tmp_path}'])
  config = configuration.resolve(configuration.given_flags(flag_values))
  assert (config.level_name, config.agent, config.network, config.center_frames) == (
      'atari/pong', 'impala', 'shallow', True)
  assert (config.entropy_cost, config.replay_proportion, config.correction) == (0.005, 0.5, 'vtrace')
  # No-op starts in training, and a budget over which the learning rate falls to 0 in a sitting.
  assert (config.train_noop_max, config.total_environment_frames) == (30, 15_000_000)


def test_make_train_trains_the_command_of_the_documented_runs():
  page = read(os.path.join('docs', 'pong_learning.md'))
  runs = page.split("\n## The runs of make train's recipe\n", 1)[1]
  command = runs.split('```sh', 1)[1].split('```', 1)[0]
  extra = re.search(r'--extra=(\S+)', command).group(1).split(',')
  # The actor layout the runs had: benchmarks/pong_learning.py's defaults.
  source = read(os.path.join('benchmarks', 'pong_learning.py'))
  layout = [f'--{name}={value}' for name, value in re.findall(
      r"DEFINE_integer\('(num_actors|actor_threads|envs_per_process)', ([0-9_]+),", source)]
  assert len(layout) == 3
  assert sorted(train_arguments()) == sorted(['--level_name=atari/pong', *extra, *layout])
