"""The configuration a training run records in its logdir, and what later commands take from it.

A run writes `<logdir>/config.json` when it starts. Test mode and a resumed run read it: the
settings that shape the network and the environment (the Configuration's `run_settings`: network,
LSTM, centring, initialisation, action space, frame size, level, ...) come from there, so a
checkpoint is never evaluated or trained as a different function. A flag given that contradicts the
run's is refused. What this machine can run (`MACHINE_SETTINGS`: the levels left out, the dataset's
folder) also comes from there when not given, but a flag may change it.
"""
import dataclasses
import json
import os
import tempfile

from absl import logging
import tensorflow as tf

from runtime import hyperparameters
from runtime import replay

FILE_NAME = 'config.json'
MACHINE_SETTINGS = ('exclude_levels', 'dataset_path')


def write(config):
  """Records `config` in its logdir (atomically: a reader never sees half a file)."""
  os.makedirs(config.logdir, exist_ok=True)
  hyperparameters.write_json(os.path.join(config.logdir, FILE_NAME), dataclasses.asdict(config))


def load(logdir):
  """The settings recorded in `logdir`, or None if no run recorded any there."""
  path = os.path.join(logdir, FILE_NAME)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def as_flag(name, value):
  return f'--{name}' if value is True else f'--no{name}' if value is False else f'--{name}={value}'


def resolve(configuration, given):
  """The checked Config, of `configuration` (a runtime.config.Configuration; the program's is
  configuration.CONFIGURATION), for a command that gave the settings `given` ({flag name: value}).

  If --logdir holds a recorded run, its run settings fill in those not given, and one given with
  another value is refused. Raises ValueError, naming the flag, before any work.
  """
  logdir = given.get('logdir', configuration.fields['logdir'].default)
  recorded = load(logdir)
  if recorded is not None:
    for name in configuration.run_settings:
      if name in given and name in recorded and given[name] != recorded[name]:
        raise ValueError(
            f'{as_flag(name, given[name])} contradicts the run in --logdir={logdir}, which was '
            f'trained with {as_flag(name, recorded[name])}: leave the flag out to use the run\'s, '
            'or choose another --logdir')
    kept = configuration.run_settings + MACHINE_SETTINGS
    given = {**{n: recorded[n] for n in kept if n in recorded}, **given}
  config = configuration.build(**given)
  has_checkpoint = tf.train.latest_checkpoint(logdir) is not None
  if config.mode == 'test' and not has_checkpoint:
    raise ValueError(f'--mode=test: no checkpoint in --logdir={logdir}; train there first')
  if recorded is None and has_checkpoint:
    logging.warning('%s holds a run from before runs recorded their configuration (%s): the flags '
                    'given are used as they are, and could not be checked against the run\'s.',
                    logdir, FILE_NAME)
  if config.mode == 'train' and not (config.task != -1 and config.job_name == 'actor'):
    _check_writable(logdir)
    if config.replay_proportion > 0:
      replay.check_memory_for(config)
  return config


def _check_writable(logdir):
  """Creates the logdir if needed and writes a file there, or refuses it with the reason."""
  try:
    os.makedirs(logdir, exist_ok=True)
    with tempfile.TemporaryFile(dir=logdir):
      pass
  except OSError as e:
    raise ValueError(f'--logdir={logdir} cannot be created or written: {e.strerror or e}') from None
