"""runtime.arrivals: what the learner can tell, from the unrolls that arrive, of those that did not."""
import collections
import logging

import numpy as np
import pytest

from runtime import arrivals

Batch = collections.namedtuple('Batch', 'actor env_outputs')
EnvOutputs = collections.namedtuple('EnvOutputs', 'done info')
Info = collections.namedtuple('Info', 'episode_return episode_step')
T = 5  # Agent steps an unroll; it holds T + 1 steps, the first the previous unroll's last.
REPEATS = 4


def play(episode_lengths, start_fresh=True):
  """The steps one actor plays: (done, episode frames, episode return) for each, as
  environments.base reports them, through episodes of the given lengths in agent steps."""
  steps = [(True, 0, 0.)] if start_fresh else []
  for length in episode_lengths:
    for i in range(1, length + 1):
      steps.append((i == length, i * REPEATS, float(i)))
  return steps


def unrolls(steps):
  """The overlapping unrolls of T + 1 steps an actor sends of `steps`."""
  return [steps[i:i + T + 1] for i in range(0, len(steps) - T, T)]


def batch(actor, unroll_list):
  done, frames, returns = (np.array([[s[k] for s in u] for u in unroll_list]) for k in range(3))
  return Batch(np.full(len(unroll_list), actor),
               EnvOutputs(done, Info(returns.astype(np.float32), frames.astype(np.int32))))


class Clock:
  now = 0.

  def __call__(self):
    return self.now


def test_unrolls_that_all_arrive_lose_nothing():
  ledger = arrivals.Arrivals(silent_after_secs=10)
  sent = unrolls(play([7, 12, 3, 9]))
  for i in range(0, len(sent), 2):
    ledger.record(batch(3, sent[i:i + 2]))
  assert (ledger.lost_frames, ledger.cut_episodes) == (0, 0)


@pytest.mark.parametrize('dropped', [[2], [2, 3], [1, 2, 3]])
def test_missing_unrolls_within_an_episode_count_their_frames(dropped):
  ledger = arrivals.Arrivals(silent_after_secs=10)
  sent = unrolls(play([40]))
  for i, unroll in enumerate(sent):
    if i not in dropped:
      ledger.record(batch(0, [unroll]))
  assert ledger.lost_frames == len(dropped) * T * REPEATS
  assert ledger.cut_episodes == 0


def test_an_actor_that_starts_again_mid_episode_cuts_that_episode():
  ledger = arrivals.Arrivals(silent_after_secs=10)
  before = unrolls(play([100]))[:3]  # 15 agent steps of a 100-step episode arrived.
  for unroll in before:
    ledger.record(batch(1, [unroll]))
  for unroll in unrolls(play([8, 8])):  # A new process: environments start afresh.
    ledger.record(batch(1, [unroll]))
  assert ledger.cut_episodes == 1
  assert ledger.lost_frames == 0  # What it played after its last unroll cannot be seen.


def test_missing_unrolls_across_an_episode_end_cut_the_episode():
  ledger = arrivals.Arrivals(silent_after_secs=10)
  sent = unrolls(play([12, 30]))
  kept = [u for u in sent if not (1 < sent.index(u) < 4)]  # Lose the end of the first episode.
  for unroll in kept:
    ledger.record(batch(2, [unroll]))
  first_after = kept[2][0]  # Frames into the second episode when unrolls arrive again.
  assert ledger.cut_episodes == 1
  assert ledger.lost_frames == first_after[1]


def test_actors_are_accounted_apart():
  ledger = arrivals.Arrivals(silent_after_secs=10)
  a, b = unrolls(play([30])), unrolls(play([30]))
  for ua, ub in zip(a, b):  # Interleaved in one batch each time.
    ledger.record(batch(0, [ua])._replace(actor=np.array([0])))
    ledger.record(batch(1, [ub]))
  assert (ledger.lost_frames, ledger.cut_episodes) == (0, 0)


def test_silent_actors_are_reported_once_and_their_return_too(caplog):
  caplog.set_level(logging.INFO, logger='absl')
  clock = Clock()
  ledger = arrivals.Arrivals(silent_after_secs=10, clock=clock)
  sent = unrolls(play([50]))
  ledger.record(batch(0, [sent[0]]))
  ledger.record(batch(1, [sent[0]]))
  clock.now = 11.
  ledger.record(batch(1, [sent[1]]))
  ledger.check_silent()
  ledger.check_silent()
  assert [r.getMessage() for r in caplog.records] == [
      'Actor 0 has sent nothing for 11 s; training goes on with the others.']
  ledger.record(batch(0, [sent[1]]))
  assert caplog.records[-1].getMessage() == 'Actor 0 is sending unrolls again.'
