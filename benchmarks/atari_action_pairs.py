"""Which of an Atari game's minimal actions do the same: for reading a policy's entropy (two actions
that do the same let a policy that always makes one move keep ln 2 nats).

    .venv/bin/python benchmarks/atari_action_pairs.py --game=pong [--states=40]

From each of --states states reached by random play (one seed), every action is held for --hold
agent steps and then NOOP for --settle; a pair of actions counts as the same from that state when
both leave the same screens (when the hold ends and after the NOOPs, so that delayed effects show)
and the same reward. Prints, per pair, from how many states they did.
"""
import itertools
import os
import sys

from absl import app
from absl import flags
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from environments import atari  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS
flags.DEFINE_string('game', 'pong', 'ale-py ROM id.')
flags.DEFINE_integer('states', 40, 'States of random play to compare the actions from.')
flags.DEFINE_integer('hold', 4, 'Agent steps each action is held for (each 4 frames).')
flags.DEFINE_integer('settle', 15, 'Agent steps of NOOP after it, so that delayed effects show.')
flags.DEFINE_integer('seed', 0, 'Seed of the random play.')

FRAMES_PER_STEP = 4  # The paper's action repeat.


def outcome(ale, state, action):
  """(screens when the hold ends and after the NOOPs, reward) of holding `action` from `state`."""
  ale.restoreState(state)
  reward = sum(ale.act(action) for _ in range(FLAGS.hold * FRAMES_PER_STEP))
  held = ale.getScreen().copy()
  reward += sum(ale.act(ale.getMinimalActionSet()[0]) for _ in range(FLAGS.settle * FRAMES_PER_STEP))
  return held, ale.getScreen().copy(), reward


def live_state(ale, actions, rng):
  """A state 50 to 1,500 agent steps into random play, in a game not yet over (actions then change
  nothing)."""
  while True:
    ale.reset_game()
    for _ in range(int(rng.integers(50, 1500)) * FRAMES_PER_STEP):
      ale.act(actions[int(rng.integers(len(actions)))])
    if not ale.game_over():
      return ale.cloneState()


def main(argv):
  del argv
  atari.check_game(FLAGS.game)
  ale = atari._open_ale(FLAGS.game, FLAGS.seed)  # pylint: disable=protected-access
  actions = list(ale.getMinimalActionSet())
  rng = np.random.default_rng(FLAGS.seed)
  same = np.zeros((len(actions), len(actions)), int)
  for _ in range(FLAGS.states):
    state = live_state(ale, actions, rng)
    outcomes = [outcome(ale, state, action) for action in actions]
    for i, j in itertools.combinations(range(len(actions)), 2):
      (held_i, settled_i, reward_i), (held_j, settled_j, reward_j) = outcomes[i], outcomes[j]
      same[i, j] += (np.array_equal(held_i, held_j) and np.array_equal(settled_i, settled_j)
                     and reward_i == reward_j)
  print(f'{FLAGS.game}: minimal action set {[a.name for a in actions]}; pairs that left the same '
        f'screens and reward from {FLAGS.states} states of random play:')
  for i, j in itertools.combinations(range(len(actions)), 2):
    if same[i, j]:
      print(f'  {actions[i].name:>10} {actions[j].name:<10} {same[i, j]} of {FLAGS.states}')


if __name__ == '__main__':
  app.run(main)
