"""The configuration a training run records in its logdir, and what later commands take from it.

A run writes `<logdir>/config.json` when it starts. Test mode and a resumed run read it: the
settings that shape the network and the environment (the Configuration's `run_settings`: network,
LSTM, centring, initialisation, action space, frame size, level, ...) come from there, so a
checkpoint is never evaluated or trained as a different function. A flag given that contradicts the
run's is refused. What this machine can run (`MACHINE_SETTINGS`: the levels left out, the dataset's
folder) also comes from there when not given, but a flag may change it, and so does the run's
identity (`run_id`, made for a new run), which the learner of a cluster shows its actor tasks.

An actor task of a cluster takes the run's configuration from the learner it joins instead, which
publishes it (runtime.cluster): `actor_task` checks the task's own settings before it connects, and
`join` makes its Config of the learner's and those, refusing a flag given that contradicts the
learner's.
"""
import dataclasses
import json
import os
import tempfile
import uuid

from absl import logging
import tensorflow as tf

from runtime import hyperparameters
from runtime import replay
from runtime import schedulers

FILE_NAME = 'config.json'
MACHINE_SETTINGS = ('exclude_levels', 'dataset_path')
# An actor task's own settings, never the learner's: its place in the cluster and how long it waits
# for the learner, the run it expects (--run_id), and --logdir, where its machine caches DeepMind
# Lab's compiled levels.
ACTOR_TASK_SETTINGS = ('job_name', 'task', 'learner_address', 'actor_address', 'cluster',
                       'slurm_port_base', 'learner_timeout_secs', 'run_id', 'logdir', 'local_cluster')
# What an actor task's machine runs its actors with: the learner's unless the task is given its own.
ACTOR_MACHINE_SETTINGS = ('dataset_path', 'envs_per_process', 'actor_threads', 'inference_timeout_ms')


def write(config):
  """Records `config` in its logdir (atomically: a reader never sees half a file)."""
  os.makedirs(config.logdir, exist_ok=True)
  hyperparameters.write_json(os.path.join(config.logdir, FILE_NAME), dataclasses.asdict(config))


def as_json(config):
  """`config` as its config.json records it, in a string: what a learner publishes to its actors."""
  return json.dumps(dataclasses.asdict(config), sort_keys=True)


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
    kept = configuration.run_settings + MACHINE_SETTINGS + ('run_id',)
    if given.get('run_id') and recorded.get('run_id') not in (None, '', given['run_id']):
      logging.info('--run_id=%s: the run in --logdir=%s was run %r until now.', given['run_id'],
                   logdir, recorded['run_id'])
    given = {**{n: recorded[n] for n in kept if n in recorded}, **given}
  if given.get('mode', 'train') == 'train' and not given.get('run_id'):
    given = dict(given, run_id=uuid.uuid4().hex[:12])  # A new run's identity, recorded with it.
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


def is_actor_task(given):
  """Whether the settings `given` start an actor task of a cluster."""
  return given.get('job_name') == 'actor' and given.get('task', -1) != -1


def actor_task(configuration, given):
  """An actor task's own settings (ACTOR_TASK_SETTINGS; not given: the defaults), checked before it
  connects to its learner, whose settings are the run's (`join`): {flag name: value}. Raises
  ValueError, naming the flag, for one that cannot work whatever the learner's."""
  own = {name: given.get(name, configuration.fields[name].default) for name in ACTOR_TASK_SETTINGS}
  configuration.check_values({n: v for n, v in given.items() if n in own or
                              n in ACTOR_MACHINE_SETTINGS})
  for name in ('learner_address', 'actor_address'):
    if own[name]:
      schedulers.check_address(own[name], f'--{name}')
  if given.get('mode', 'train') != 'train':
    raise ValueError('--job_name/--task: test mode runs on one machine; leave --task at -1')
  if own['local_cluster']:
    raise ValueError('--local_cluster starts the tasks itself: leave --task at -1')
  if own['task'] < 0:
    raise ValueError(f'--task must be >= 0 for an actor task, got {own["task"]}')
  return own


def join(configuration, given, learner):
  """The checked Config of an actor task given the settings `given`, that joins a learner whose run
  has the settings `learner` (its config.json's): the learner's, but for the task's own
  (ACTOR_TASK_SETTINGS) and those of its machine it was given (ACTOR_MACHINE_SETTINGS). Raises
  ValueError for a learner of another run than --run_id names, and, naming the flag and both
  values, for a setting given that contradicts the learner's.
  """
  address = given.get('learner_address', configuration.fields['learner_address'].default)
  run_id = given.get('run_id')
  if run_id and learner.get('run_id') != run_id:
    raise ValueError(
        f'the learner at {address} trains run {learner.get("run_id")!r} (--logdir='
        f'{learner.get("logdir")} on its machine), not this task\'s run {run_id!r} '
        '(--run_id): check the address, or leave --run_id out to join the run the learner trains')
  differ = sorted(set(learner) ^ set(configuration.fields))
  if differ:
    raise ValueError(f'the learner at {address} runs another version of this program (setting '
                     f'{differ[0]!r} is known to one of them only): start every task from the same '
                     'version')
  for name in sorted(given):
    if name not in ACTOR_TASK_SETTINGS + ACTOR_MACHINE_SETTINGS and given[name] != learner[name]:
      raise ValueError(
          f"{as_flag(name, given[name])} contradicts the learner at {address}, whose run has "
          f'{as_flag(name, learner[name])}: leave the flag out (an actor task takes the run\'s '
          'settings from its learner)')
  own = actor_task(configuration, given)
  machine = {name: given[name] for name in ACTOR_MACHINE_SETTINGS if name in given}
  return configuration.build(**{**learner, **machine, **own})
