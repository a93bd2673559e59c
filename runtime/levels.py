"""The levels a run plays: one, a multi-task suite's (DMLab-30, Atari-57) or a list of levels
('atari/pong,atari/breakout'), dealt out to the actors; and the tasks a PopArt agent has a value for.

DMLab-30 levels a machine cannot run (the natlab levels under a DeepMind Lab built without their maps,
the psychlab levels that read a dataset not there) are left out only when `--exclude_levels` names
them: the run lists them when it starts and the report marks them 'not run'.
"""
import os

import atari57
import dmlab30
import environments
from environments import dmlab

# The stimuli are 0001.png ... 2400.png (DeepMind Lab's game_scripts/datasets/brady_konkle_oliva2008.lua).
DATASET_FIRST_FILE = '0001.png'
START_FAILURE_HINT = (
    'An environment could not start. A DMLab-30 level that cannot run on this machine (README, '
    '"DeepMind Lab from a wheel") can be left out of --level_name=dmlab30 with --exclude_levels.')


def _exclude_names(config):
  """The names `--exclude_levels` gives, as written (training or test level names)."""
  return [name.strip() for name in config.exclude_levels.split(',') if name.strip()]


def excluded_levels(config):
  """The DMLab-30 training level names `--exclude_levels` leaves out, in the suite's order."""
  names = set(_exclude_names(config))
  return tuple(level for level in dmlab30.TRAINING_LEVELS
               if level in names or dmlab30.LEVEL_MAPPING[level] in names)


def listed_levels(level_name):
  """The levels a --level_name of comma-separated levels names, in order; one level: itself."""
  return tuple(name.strip() for name in level_name.split(','))


def tasks(config):
  """The levels of the run's suite or list, in order, whatever this machine plays: a PopArt agent's
  value output i is task i's. DMLab-30's are its 30 training levels even with --exclude_levels (a
  machine setting that may change when a run resumes), so that the network keeps its shape."""
  if config.level_name == 'dmlab30':
    return dmlab30.TRAINING_LEVELS
  if config.level_name == 'atari57':
    return tuple('atari/' + game for game in atari57.GAMES)
  return listed_levels(config.level_name)


def actor_levels(config):
  """The level each actor plays in train mode: actor i gets level i mod N of a multi-task suite or
  list."""
  excluded = excluded_levels(config)
  levels = tuple(level for level in tasks(config) if level not in excluded)
  return [levels[i % len(levels)] for i in range(config.num_actors)]


def test_levels(config):
  """The levels test mode plays: DMLab-30's hold-out test levels, every Atari-57 game, or the run's
  level or levels."""
  if config.level_name == 'dmlab30':
    excluded = excluded_levels(config)
    return [dmlab30.LEVEL_MAPPING[level] for level in dmlab30.TRAINING_LEVELS
            if level not in excluded]
  return list(tasks(config))


def check(config):
  """ValueError, naming the flag to set, for levels this configuration cannot play."""
  listed = listed_levels(config.level_name)
  if len(listed) > 1 and (not all(listed) or len(set(listed)) < len(listed) or
                          {'dmlab30', 'atari57'} & set(listed)):
    raise ValueError(f'--level_name={config.level_name}: a list names each level once, and no '
                     'suite (dmlab30, atari57)')
  names = _exclude_names(config)
  if names:
    if config.level_name != 'dmlab30':
      raise ValueError(f'--exclude_levels leaves levels out of --level_name=dmlab30; this run plays '
                       f'{config.level_name}')
    unknown = [name for name in names if name not in dmlab30.ALL_LEVELS]
    if unknown:
      raise ValueError(f'--exclude_levels: {unknown} are not DMLab-30 levels')
    if len(excluded_levels(config)) == len(dmlab30.TRAINING_LEVELS):
      raise ValueError('--exclude_levels leaves no DMLab-30 level to play')
  played = set(actor_levels(config) + test_levels(config))
  needs_dataset = sorted(level for level in played if level in dmlab.DATASET_LEVELS)
  if needs_dataset and not config.dataset_path:
    leave_out = (f', or leave them out with --exclude_levels={",".join(needs_dataset)}'
                 if config.level_name == 'dmlab30' else '')
    raise ValueError(f'{", ".join(needs_dataset)} need the brady_konkle_oliva2008 dataset (README, '
                     f'"DeepMind Lab from a wheel"): set --dataset_path to its folder{leave_out}')
  if needs_dataset and not os.path.isdir(config.dataset_path):
    raise ValueError(f'--dataset_path={config.dataset_path} is not a folder')
  if needs_dataset and not os.path.isfile(os.path.join(config.dataset_path, DATASET_FIRST_FILE)):
    # An image built without the stimuli leaves this file in their folder, saying so (docs/docker.md).
    not_fetched = os.path.join(config.dataset_path, 'NOT_FETCHED')
    why = 'make it as data/brady_konkle_oliva2008/README.md of DeepMind Lab says'
    if os.path.isfile(not_fetched):
      with open(not_fetched) as f:
        why = f.read().strip()
    raise ValueError(f'{", ".join(needs_dataset)} need the brady_konkle_oliva2008 stimuli, and '
                     f'--dataset_path={config.dataset_path} has no {DATASET_FIRST_FILE}: {why}')


def check_same_spec(config):
  """ValueError unless the levels of a list give one network the same frames and actions (call it
  once each level is known to be playable)."""
  listed = listed_levels(config.level_name)
  if len(listed) == 1:
    return
  specs = [environments.environment_spec(level, config.env_config)[:3] for level in listed]
  for level, spec in zip(listed, specs):
    if spec != specs[0]:
      raise ValueError(f'--level_name={config.level_name}: the levels of a list must have the same '
                       f'frames and actions; {listed[0]} has {specs[0]}, {level} {spec} (frame '
                       'shape, instruction, actions)')


def notes(config):
  """Lines to log when a run starts: the levels it leaves out."""
  excluded = excluded_levels(config)
  if config.level_name != 'dmlab30' or not excluded:
    return []
  return [f'DMLab-30: {len(dmlab30.TRAINING_LEVELS) - len(excluded)} of '
          f'{len(dmlab30.TRAINING_LEVELS)} levels; not run (--exclude_levels): {", ".join(excluded)}.']
