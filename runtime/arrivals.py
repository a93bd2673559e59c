"""What reaches the learner from each actor: which actors fall silent and come back, and what never
arrived in between.

An actor's unrolls overlap by one step: each starts with the step the previous one ended with. So the
learner can tell, from the steps' (done, episode frames, episode return), whether unrolls went missing
between two it received (frames lost: those the episode advanced by in between), and whether the
actor started again mid-episode (its environment or its process restarted: that episode is cut, its
end never arrives, and it is counted nowhere). Frames an actor played after its last unroll to arrive
and before it died cannot be seen here; they are less than an unroll per actor, plus the unrolls its
task had queued.
"""
import time

from absl import logging
import numpy as np


class Arrivals:
  """Notes each fresh batch's unrolls by actor; logs silences, returns and losses as they happen."""

  def __init__(self, silent_after_secs, clock=time.monotonic):
    self._silent_after = silent_after_secs
    self._clock = clock
    self._last_seen = {}  # Actor index -> when its last unroll was trained on.
    self._last_step = {}  # Actor index -> (done, episode frames, episode return) of that unroll's end.
    self._silent = set()
    self.lost_frames = 0  # Frames of unrolls that went missing, as far as the unrolls around them show.
    self.cut_episodes = 0  # Episodes in progress when their actor started again.

  def record(self, batch):
    """batch: unrolls' `actor` [B] and `env_outputs` (done, info) [B, T + 1], in arrival order."""
    now = self._clock()
    actors = np.asarray(batch.actor).tolist()
    done = np.asarray(batch.env_outputs.done)
    frames = np.asarray(batch.env_outputs.info.episode_step)
    returns = np.asarray(batch.env_outputs.info.episode_return)
    for i, actor in enumerate(actors):
      if actor in self._silent:
        self._silent.discard(actor)
        logging.info('Actor %d is sending unrolls again.', actor)
      self._last_seen[actor] = now
      first = (bool(done[i, 0]), int(frames[i, 0]), float(returns[i, 0]))
      previous = self._last_step.get(actor)
      if previous is not None and first != previous:
        self._account(actor, previous, first)
      self._last_step[actor] = (bool(done[i, -1]), int(frames[i, -1]), float(returns[i, -1]))

  def _account(self, actor, previous, first):
    """Counts what the break between an actor's two unrolls lost."""
    was_done, was_frames, _ = previous
    position = 0 if was_done else was_frames  # Frames into the episode the previous unroll left.
    is_done, now_frames, _ = first
    if is_done and now_frames == 0:  # A fresh start: initial(), as a restarted environment begins.
      if not was_done:
        self.cut_episodes += 1
      logging.warning('Actor %d started again%s.', actor, '' if was_done else
                      f': its episode in progress ({position} frames had arrived) was cut')
    elif now_frames > position:  # The same episode, further on: the unrolls in between are missing.
      self.lost_frames += now_frames - position
      logging.warning('Actor %d: %d frames of its unrolls never arrived (episode frame %d to %d).',
                      actor, now_frames - position, position, now_frames)
    else:  # A later episode: the rest of the previous one, and this one's start, are missing.
      self.lost_frames += now_frames
      self.cut_episodes += 0 if was_done else 1
      logging.warning('Actor %d: unrolls never arrived, from episode frame %d of one episode to %d of '
                      'a later one.', actor, position, now_frames)

  def check_silent(self):
    """Logs, once each, the actors whose unrolls stopped arriving `silent_after_secs` ago."""
    now = self._clock()
    for actor, seen in self._last_seen.items():
      if actor not in self._silent and now - seen > self._silent_after:
        self._silent.add(actor)
        logging.warning('Actor %d has sent nothing for %.0f s; training goes on with the others.',
                        actor, now - seen)
