"""A population's files: where each member lives, what the controller keeps of it, and which member test
mode evaluates.

    <logdir>/config.json              the PBT run's configuration (runtime.run_config)
    <logdir>/pbt.csv                  one row per evolution decision (pbt.controller)
    <logdir>/pbt.png                  each member's hyperparameters and fitness over frames (pbt.plot)
    <logdir>/member_<i>/              an ordinary training run, plus:
        pbt_member.json               the controller's state for it: its first hyperparameters, the
                                      episodes at its last decision, its random generator
        pbt_directive.json, hyperparameters.json, pbt_copy/   see runtime.hyperparameters
        log.txt                       the member process's output
"""
import os

import numpy as np

from pbt import fitness as fitness_lib
from runtime import hyperparameters as hyperparameters_lib
from runtime import run_config

STATE_FILE = 'pbt_member.json'
FITNESS_WINDOW = 100  # Episodes per level a fitness is measured over, at most.


def member_logdir(logdir, index):
  return os.path.join(logdir, f'member_{index}')


def trains_with(logdir, index):
  """What member `index`'s learner trains with and the last decision it applied, or None before it
  started (its hyperparameters.json)."""
  return hyperparameters_lib.read_json(
      os.path.join(member_logdir(logdir, index), hyperparameters_lib.VALUES_FILE))


def fitness_window(ready_episodes):
  """Episodes per level in a fitness: the last 100, or fewer when evolution steps come sooner."""
  return max(1, min(FITNESS_WINDOW, ready_episodes))


def read_state(logdir, index):
  return hyperparameters_lib.read_json(os.path.join(member_logdir(logdir, index), STATE_FILE))


def write_state(logdir, index, state):
  os.makedirs(member_logdir(logdir, index), exist_ok=True)
  hyperparameters_lib.write_json(os.path.join(member_logdir(logdir, index), STATE_FILE), state)


def member_fitnesses(logdir, population, level_name, window=FITNESS_WINDOW):
  """{member: its fitness now (None before its first episode)}."""
  return {i: fitness_lib.EpisodeReader(member_logdir(logdir, i), window).update().fitness(level_name)
          for i in range(population)}


def test_logdir(given):
  """For test mode: the logdir of the member to evaluate when --logdir holds a PBT run (--pbt_member,
  or the fittest), else --logdir itself. ValueError naming the flag if there is none to evaluate."""
  logdir = given.get('logdir', '/tmp/agent')
  recorded = run_config.load(logdir)
  if not recorded or not recorded.get('pbt_population'):
    return logdir
  population = recorded['pbt_population']
  member = given.get('pbt_member', -1)
  if not -1 <= member < population:
    raise ValueError(f'--pbt_member must be -1 (the fittest) or in [0, {population}) for the '
                     f'population in --logdir={logdir}, got {member}')
  if member == -1:
    window = fitness_window(recorded.get('pbt_ready_episodes', FITNESS_WINDOW))
    scores = {i: f for i, f in member_fitnesses(logdir, population, recorded['level_name'],
                                                window).items() if f is not None}
    if not scores:
      raise ValueError(f'--mode=test: no member of the population in --logdir={logdir} has finished an '
                       'episode yet; give --pbt_member to evaluate one anyway')
    member = max(scores, key=scores.get)
    print(f'Evaluating member {member} of {population}, the fittest (fitness {scores[member]:.2f}; '
          'others: ' + ', '.join(f'{i}: {f:.2f}' for i, f in sorted(scores.items()) if i != member) +
          ').', flush=True)
  return member_logdir(logdir, member)


def new_generator(seed, index):
  """Member `index`'s random generator: the population is the same for the same --seed."""
  return np.random.default_rng([seed, index])
