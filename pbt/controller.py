"""--pbt_population: population-based training as the paper's appendix F describes it.

Each member is an ordinary training run of experiment.py in `<logdir>/member_<i>/`, in a process of its
own: one that crashes is restarted from its checkpoint while the others train on. This controller
starts the members, follows their episodes.csv, and when a member is ready (past the burn-in, and
--pbt_ready_episodes more episodes since its last decision) it draws another at random, copies that
one's latest checkpoint and hyperparameters if it is fitter by more than --pbt_threshold, perturbs
the hyperparameters, and hands the decision to the member's running learner through files
(runtime.hyperparameters). Every decision is a row of `<logdir>/pbt.csv`; `<logdir>/pbt.png` draws them.

Why not Ray Tune's PBT scheduler: it would own the training loop (a Trainable stepping in its workers,
checkpoints through Ray's object store) and pause members to exploit; here a member is the same
process a user would run alone, evolution reaches its learner while it trains, and the only shared
medium is the logdir's filesystem, so members on several machines need nothing but --pbt_members.
"""
import csv
import dataclasses
import datetime
import fcntl
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

from absl import logging
import numpy as np
import tensorflow as tf

from pbt import fitness as fitness_lib
from pbt import plot
from pbt import population
from pbt import rules
from pbt import settings as pbt_settings
from runtime import hyperparameters as hyperparameters_lib
from runtime import run_config
from runtime import supervision

POLL_SECONDS = 2
MAX_CRASHES = 3  # In a row, without training a frame in between: the member cannot run; stop.
CSV_FILE = 'pbt.csv'
COLUMNS = ['time', 'member', 'frames', 'episodes', 'partner', 'fitness', 'partner_fitness',
           'copied'] + list(hyperparameters_lib.EVOLVED)


class Member:
  """One member's process and the controller's state of it (persisted in its pbt_member.json)."""

  def __init__(self, config, index, command, initial):
    self.index = index
    self.logdir = population.member_logdir(config.logdir, index)
    self.state = population.read_state(config.logdir, index)
    if self.state is None:  # A new member: its first hyperparameters, from its own generator.
      rng = population.new_generator(config.seed, index)
      self.state = dict(initial_hyperparameters=initial(index, rng), decision=0,
                        episodes_at_last_decision=0, rng=rng.bit_generator.state)
      population.write_state(config.logdir, index, self.state)
    self.rng = np.random.Generator(np.random.PCG64())
    self.rng.bit_generator.state = self.state['rng']
    self.command = command + [
        f'--logdir={self.logdir}', f'--seed={config.seed + index * config.num_actors}',
        f'--pbt_member={index}'] + [run_config.as_flag(name, value) for name, value in
                                    sorted(self.state['initial_hyperparameters'].items())]
    self.process = None
    self.finished = False
    self.crashes = 0
    self.frames_at_start = 0

  def start(self, reader):
    self.frames_at_start = reader.frames
    with open(os.path.join(self.logdir, 'log.txt'), 'a') as log:
      self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                      env=supervision.child_environment())

  def log_tail(self, lines=20):
    with open(os.path.join(self.logdir, 'log.txt'), errors='replace') as f:
      return ''.join(f.readlines()[-lines:])


class Controller:
  """Starts this machine's members, restarts those that crash, and evolves them."""

  def __init__(self, config, given, program, initial=None):
    self.config = config
    run_config.write(config)  # The population's own: test mode and a restart find it.
    self.names = rules.evolved_names(config.level_name)
    given_evolved = sorted(set(given) & set(self.names))
    if given_evolved:
      logging.warning('PBT draws each member\'s first %s from the paper\'s ranges: the values given '
                      'are not used.', ', '.join(given_evolved))
    passed = {name: value for name, value in given.items() if not name.startswith('pbt_') and
              name not in ('logdir', 'seed', 'mode', *hyperparameters_lib.EVOLVED)}
    command = [sys.executable, program] + [run_config.as_flag(n, v) for n, v in sorted(passed.items())]
    initial = initial or (lambda index, rng: rules.initial_hyperparameters(rng, config.level_name))
    window = population.fitness_window(config.pbt_ready_episodes)
    self.readers = {i: fitness_lib.EpisodeReader(population.member_logdir(config.logdir, i), window)
                    for i in range(config.pbt_population)}
    self.members = [Member(config, i, command, initial)
                    for i in pbt_settings.member_indices(dataclasses.asdict(config))]
    self.stopping = 0  # The signal that stopped the population; 0 while none has.
    self.decisions = 0
    self._last_report = 0.

  def run(self):
    """Trains until every member here has its frames, or a signal; returns an exit code."""
    previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
      for member in self.members:
        member.start(self.readers[member.index].update())
      logging.info('PBT: %d members, in %s/member_<i>/ (each its log.txt); decisions in %s.',
                   len(self.members), self.config.logdir, os.path.join(self.config.logdir, CSV_FILE))
      while not self.stopping and not all(m.finished for m in self.members):
        time.sleep(POLL_SECONDS)
        for reader in self.readers.values():
          reader.update()
        for member in self.members:
          if not self._supervise(member):
            return 1
          if not member.finished and not self.stopping and self._ready(member):
            self.decide(member)
        self._report()
      # Stopped by a signal before every member trained its frames: 128 + it, as a single run's.
      return 128 + self.stopping if self.stopping and not all(m.finished for m in self.members) else 0
    finally:
      self._stop_members()
      for s, h in previous.items():
        signal.signal(s, h)
      plot.draw(self.config.logdir)

  def _on_signal(self, signum, unused_frame):
    logging.info('Received signal %d: stopping the members (each writes its checkpoint).', signum)
    self.stopping = signum

  def _stop_members(self):
    for member in self.members:
      if member.process is not None and member.process.poll() is None:
        member.process.send_signal(signal.SIGINT)
    for member in self.members:
      if member.process is not None:
        member.process.wait()

  def _supervise(self, member):
    """Notes a member that finished and restarts one that crashed; False if one cannot run."""
    code = member.process.poll()
    if code is None or member.finished or self.stopping:
      return True
    if code == 0:
      member.finished = True
      logging.info('PBT: member %d has trained its frames.', member.index)
      return True
    reader = self.readers[member.index]
    member.crashes = 1 if reader.frames > member.frames_at_start else member.crashes + 1
    if member.crashes >= MAX_CRASHES:
      logging.error('PBT: member %d exited with code %d %d times without training; stopping. The end '
                    'of its log (%s/log.txt):\n%s', member.index, code, member.crashes, member.logdir,
                    member.log_tail())
      return False
    logging.warning('PBT: member %d exited with code %d: restarting it from its checkpoint.',
                    member.index, code)
    member.start(reader)
    return True

  def _ready(self, member):
    trains_with = population.trains_with(self.config.logdir, member.index)
    if trains_with is None or trains_with['decision'] < member.state['decision']:
      return False  # Not started yet, or its last decision not applied yet.
    reader = self.readers[member.index]
    return rules.is_ready(reader.frames, reader.episodes, member.state['episodes_at_last_decision'],
                          self.config.pbt_burn_in_frames, self.config.pbt_ready_episodes)

  def decide(self, member):
    """One evolution step of `member`: exploit, explore, and the decision handed to its learner."""
    config = self.config
    partner = rules.draw_partner(member.rng, member.index, range(config.pbt_population))
    own_fitness = self.readers[member.index].fitness(config.level_name)
    partner_fitness = self.readers[partner].fitness(config.level_name)
    partner_values = population.trains_with(config.logdir, partner)
    copy_from = None
    if partner_values and rules.should_copy(own_fitness, partner_fitness, config.pbt_threshold):
      copy_from = copy_checkpoint(population.member_logdir(config.logdir, partner), member.logdir)
    own_values = population.trains_with(config.logdir, member.index)
    base = partner_values if copy_from else own_values
    values = rules.explore(member.rng, {n: base[n] for n in hyperparameters_lib.EVOLVED}, self.names)
    decision = max(member.state['decision'], own_values['decision']) + 1
    # The directive first: if this process dies before its state is written, the member still has it.
    hyperparameters_lib.write_json(os.path.join(member.logdir, hyperparameters_lib.DIRECTIVE_FILE),
                                   dict(decision=decision, copy_from=copy_from, hyperparameters=values))
    reader = self.readers[member.index]
    member.state.update(decision=decision, episodes_at_last_decision=reader.episodes,
                        rng=member.rng.bit_generator.state)
    population.write_state(config.logdir, member.index, member.state)
    append_row(os.path.join(config.logdir, CSV_FILE), dict(
        time=datetime.datetime.now().isoformat(timespec='seconds'), member=member.index,
        frames=reader.frames, episodes=reader.episodes, partner=partner,
        fitness=_round(own_fitness), partner_fitness=_round(partner_fitness),
        copied=int(copy_from is not None), **{n: f'{v:.6g}' for n, v in values.items()}))
    self.decisions += 1
    logging.info('PBT: member %d (fitness %s) against member %d (%s): %s; %s.', member.index,
                 _describe(own_fitness), partner, _describe(partner_fitness),
                 'copies it' if copy_from else 'keeps its weights',
                 ', '.join(f'{n} {values[n]:.3g}' for n in self.names))
    plot.draw(config.logdir)

  def _report(self):
    now = time.monotonic()
    if now - self._last_report < self.config.summary_secs:
      return
    self._last_report = now
    parts = []
    for i, reader in self.readers.items():
      values = population.trains_with(self.config.logdir, i)
      lr = f'{values["learning_rate"]:.2g}' if values else 'starting'
      parts.append(f'member {i}: {reader.frames / 1e6:.2f}M frames, fitness '
                   f'{_describe(reader.fitness(self.config.level_name))}, lr {lr}')
    logging.info('PBT | %s | decisions %d', ' | '.join(parts), self.decisions)


def _describe(fitness):
  return 'no episode yet' if fitness is None else f'{fitness:.2f}'


def _round(value):
  return '' if value is None else round(value, 3)


def copy_checkpoint(source_dir, member_dir):
  """Copies the latest checkpoint of `source_dir` into `member_dir`/pbt_copy/; returns its path there,
  or None if it has none. The source may rotate it away meanwhile: then its next one is copied."""
  target = os.path.join(member_dir, 'pbt_copy')
  for _ in range(3):
    path = tf.train.latest_checkpoint(source_dir)
    if path is None:
      return None
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    try:
      for name in glob.glob(path + '.*'):
        shutil.copy2(name, target)
    except FileNotFoundError:
      continue
    return os.path.join(target, os.path.basename(path))
  return None


def append_row(path, row):
  """Appends a row to the decisions' CSV; a lock keeps controllers on several machines apart."""
  with open(path, 'a', newline='') as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    writer = csv.DictWriter(f, COLUMNS)
    if os.path.getsize(path) == 0:
      writer.writeheader()
    writer.writerow(row)


def run(config, given, program, initial=None):
  """Runs a population (this machine's members of it); returns the exit code.

  given: the flags given, passed on to every member (but the PBT ones and those a member sets itself);
  program: experiment.py's path. initial(index, rng): a new member's first hyperparameters (tests).
  """
  return Controller(config, given, program, initial).run()
