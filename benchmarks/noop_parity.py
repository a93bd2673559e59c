r"""How an Atari checkpoint plays evaluation games by the number of no-ops each began with.

Test mode starts each game with 1 to --test_noop_max no-ops; training games start with none unless
--train_noop_max is given, so every training game starts on the same frame and, a step being 4
frames, an agent only ever acts on one phase of the frame count. This plays test mode on a copy of
a run's checkpoint (the run's own logdir is left as it is) and prints the returns split by the
parity of each game's no-ops:

  .venv/bin/python benchmarks/noop_parity.py --logdir=/tmp/agent/pong --episodes=20 [--frames=N]

The games are seeded (test mode's --seed, 1 unless given), so the same command plays the same games;
another --seed plays others, to add games to a count.
"""
import glob
import os
import shutil
import sys
import tempfile

from absl import app
from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import configuration  # pylint: disable=g-import-not-at-top,wrong-import-position
from environments import atari  # pylint: disable=g-import-not-at-top,wrong-import-position
from runtime import evaluation  # pylint: disable=g-import-not-at-top,wrong-import-position
from runtime import run_config  # pylint: disable=g-import-not-at-top,wrong-import-position

flags.DEFINE_string('logdir', None, 'A training run of one Atari level.', required=True)
flags.DEFINE_integer('frames', None, "The checkpoint's frame count (ckpt-<frames>); the latest if unset.")
flags.DEFINE_integer('episodes', 20, 'Evaluation games to play.')
flags.DEFINE_integer('seed', 1, "The test environment's seed (experiment.py --seed): which no-ops and "
                     'which sampled actions the games get.')
FLAGS = flags.FLAGS


def copy_checkpoint(logdir, frames, scratch):
  """The run's configuration and one checkpoint (ckpt-<frames>, or the latest), copied into
  `scratch`; returns the checkpoint's name."""
  shutil.copy(os.path.join(logdir, run_config.FILE_NAME), scratch)
  name = f'ckpt-{frames}' if frames is not None else os.path.basename(
      tf.train.latest_checkpoint(logdir))
  for path in glob.glob(os.path.join(logdir, f'{name}.*')):
    shutil.copy(path, scratch)
  with open(os.path.join(scratch, 'checkpoint'), 'w') as f:
    f.write(f'model_checkpoint_path: "{name}"\n')
  return name


def noops_drawn(seed, noop_max, games):
  """The no-ops of the first `games` games of the one test environment (seeded `seed`)."""
  random_state = np.random.RandomState(seed)  # As the environment seeds its own.
  return [atari.draw_noops(random_state, noop_max) for _ in range(games)]


def main(unused_argv):
  logging.set_verbosity(logging.WARNING)
  with tempfile.TemporaryDirectory() as scratch:
    name = copy_checkpoint(FLAGS.logdir, FLAGS.frames, scratch)
    config = configuration.resolve(dict(logdir=scratch, mode='test', test_num_episodes=FLAGS.episodes,
                                            seed=FLAGS.seed))
    if not config.level_name.startswith('atari/'):
      raise SystemExit(f'--logdir={FLAGS.logdir} trained {config.level_name}, not one Atari level')
    # One level: one environment (seed config.seed + 0) plays the games one after another.
    returns = list(evaluation.test(config)['episode_returns'].values())[0]
  noops = noops_drawn(config.seed, config.test_noop_max, len(returns))
  print(f'{FLAGS.logdir}, {name}, {len(returns)} games (sampled policy, seed {config.seed}):')
  print('no-ops: ' + ' '.join(f'{n:>3}' for n in noops))
  print('return: ' + ' '.join(f'{r:>3.0f}' for r in returns))
  for parity, name in ((0, 'even'), (1, 'odd')):
    mine = [r for n, r in zip(noops, returns) if n % 2 == parity]
    if mine:
      print(f'{name} no-ops: {len(mine)} games, mean return {np.mean(mine):+.1f}')
  print(f'all: mean return {np.mean(returns):+.1f}')


if __name__ == '__main__':
  app.run(main)
