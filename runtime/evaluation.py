"""Test mode: the latest checkpoint plays `test_num_episodes` episodes per level; the returns go to
`<logdir>/evaluation.json` and its report (`dmlab30/evaluation.py`). A recorder (video/, made by
experiment.py) may watch the episodes; it reads what the actors see and changes nothing they do."""
import dataclasses
import os
import threading

from absl import logging
import numpy as np
import tensorflow as tf

from dmlab30 import evaluation as evaluation_report
import environments
from runtime import acting
from runtime import agents
from runtime import learner as learner_lib
from runtime import levels as levels_lib
from runtime import progress


def test(config, env_factory=environments.create_environment, wrap_inference=None, recorder=None):
  """Plays the test levels with the latest checkpoint; writes and prints the results, returns them.

  wrap_inference: turns the agent's inference into the policy played (the Q-learning agents act
  epsilon-greedily); None plays the agent's own policy.
  recorder: None, or one that watches the episodes (video.recorder.Recorder): it gives the
  environments and the inference their part of the video, sees each actor's outputs, first and after
  each step (`observe`), and is closed at the end.
  """
  levels = levels_lib.test_levels(config)
  if recorder is not None:
    env_factory = recorder.environments(env_factory)
  groups = acting.start_environments(config, range(len(levels)), is_test=True,
                                     env_factory=env_factory, levels=levels)
  try:
    env_spec = groups[0].process.spec
    agent = agents.build_agent(config, env_spec)
    latest = tf.train.latest_checkpoint(config.logdir)  # run_config.resolve checked there is one.
    learner_lib.make_checkpoint(agent).restore(latest).expect_partial()
    frames = int(tf.train.load_variable(latest, 'num_env_frames/.ATTRIBUTES/VARIABLE_VALUE'))
    logging.info('Testing %s (%d frames) on %d level(s).', latest, frames, len(levels))

    inference = acting.make_inference(agent, env_spec, len(levels), config.inference_timeout_ms)
    if recorder is not None:
      inference = recorder.inference(inference)
    if wrap_inference is not None:
      inference = wrap_inference(inference)
    returns = {level: [] for level in levels}
    stop = progress.Stop()

    def play(actor):
      group_levels = [level.decode('utf-8') for level in actor.level_names]
      try:
        if recorder is not None:
          recorder.observe(actor, actor.env_output)
        while not stop.event.is_set() and any(
            len(returns[level]) < config.test_num_episodes for level in group_levels):
          _, env_output = actor.step()
          if recorder is not None:
            recorder.observe(actor, env_output)
          # A zero length marks the start after a replaced environment process, not an episode.
          finished = env_output.done & (env_output.info.episode_step > 0)
          for level, episode_return in zip(np.array(group_levels)[finished],
                                           env_output.info.episode_return[finished]):
            if len(returns[level]) < config.test_num_episodes:
              returns[level].append(float(episode_return))
              logging.info('%s: episode %d, return %.1f', level, len(returns[level]), episode_return)
      except Exception as e:  # pylint: disable=broad-except
        logging.exception('Test actor thread failed.')
        stop.fail(e)

    actors = acting.deal_actors(groups, config.actor_threads, levels, inference, agent)
    threads = [threading.Thread(target=play, args=(actor,), daemon=True) for actor in actors]
    for thread in threads:
      thread.start()
    for thread in threads:
      thread.join()
    inference.close()
    if stop.error is not None:
      raise stop.error
  finally:
    acting.close_environments(groups)
    if recorder is not None:
      recorder.close()

  path = os.path.join(config.logdir, 'evaluation.json')
  results = evaluation_report.write_results(path, returns, config.level_name, metadata=dict(
      frames=frames, checkpoint=latest, config=dataclasses.asdict(config)))
  evaluation_report.print_report(results, png_path=os.path.join(config.logdir, 'evaluation.png'))
  logging.info('Wrote %s.', path)
  return results
