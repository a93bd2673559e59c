"""Acting: environment processes, actors that play them, their batched inference, and the actor pool.

An actor thread steps its share of the environments with one inference request per step for the
share; requests from every thread are batched into one call (`runtime.dynamic_batching`). Every
`unroll_length` steps each actor's unroll goes to `enqueue` (the trajectory queue).
"""
import collections
import threading

from absl import logging
import numpy as np
import tensorflow as tf
import tree

import environments
from runtime import agents
from runtime import dynamic_batching
from runtime import levels as levels_lib
from runtime import trajectories

# The actors whose environments one process hosts, in order, and that process.
ProcessGroup = collections.namedtuple('ProcessGroup', 'actor_ids process')


def start_environments(config, actor_ids, is_test, env_factory, levels=None):
  """ProcessGroups of `envs_per_process` actors; actor i plays its level with seed `seed + i`."""
  levels = levels or levels_lib.actor_levels(config)
  actor_ids = list(actor_ids)
  size = config.envs_per_process
  groups = []
  for start in range(0, len(actor_ids), size):
    ids = actor_ids[start:start + size]
    groups.append(ProcessGroup(ids, environments.EnvironmentProcess(
        environments.EnvironmentGroup, factory=env_factory, kwargs_list=[
            dict(level_name=levels[i], seed=config.seed + i, is_test=is_test,
                 config=config.env_config) for i in ids])))
  return groups


def close_environments(groups):
  for group in groups:
    group.process.close()


def make_inference(agent, env_spec, max_batch_size, timeout_ms, batched=True):
  """`agent.step` on NumPy values of a group of actors, dynamically batched across callers or not."""
  example = (np.int32(0), trajectories.without_info(trajectories.example_env_output(env_spec)),
             agents.actor_initial_state(agent))
  signature = tree.map_structure(lambda x: trajectories.tensor_spec(x, [None]), example)

  @tf.function(input_signature=signature)
  def step(last_action, env_output, core_state):
    return agent.step(last_action, env_output, core_state)

  step(*trajectories.stack([example]))  # Trace once, before any thread.
  if not batched:
    return dynamic_batching.Unbatched(lambda inputs: step(*inputs))
  return dynamic_batching.DynamicBatcher(lambda batch: step(*batch), max_batch_size, timeout_ms)


class Actor:
  """Plays a group of environments (each an actor of the paper) with one inference request per step.

  Every environment keeps its own level, seed and core state; grouping them only saves the
  per-request overhead of the Python side. `processes` host the environments in the order of
  `actor_ids`, each an `environments.EnvironmentGroup` of one or more. Values are batched over the
  group ([K, ...]).
  """

  def __init__(self, level_names, actor_ids, processes, inference, initial_state, first_output):
    self.level_names = np.array([name.encode('utf-8') for name in level_names], object)
    self.actor_ids = np.array(actor_ids, np.int32)
    self._processes = processes
    self._inference = inference
    initial = [process.initial() for process in processes]
    self._bounds = np.cumsum([0] + [len(output.done) for output in initial])
    group = len(actor_ids)
    if self._bounds[-1] != group:
      raise ValueError(f'{len(actor_ids)} actors but {self._bounds[-1]} environments')
    self._agent_state = tree.map_structure(lambda s: np.stack([s] * group), initial_state)
    self._env_output = trajectories.concatenate(initial)
    # The original's first "previous" output (runtime.agents.actor_first_output), for each.
    self._agent_output = tree.map_structure(lambda x: np.stack([x] * group), first_output)
    self._next = None  # (agent_output, agent_state) once chosen ahead of the step.

  @property
  def env_output(self):
    """The environments' latest outputs: their first until the first `step`."""
    return self._env_output

  def next_output(self):
    """The agent's outputs for the environments' current outputs: what the next `step` acts on."""
    if self._next is None:
      self._next = self._inference((self._agent_output.action,
                                    trajectories.without_info(self._env_output), self._agent_state))
    return self._next[0]

  def step(self):
    """Acts once in every environment; returns (agent_output, env_output): actions and what they led to."""
    self.next_output()
    (self._agent_output, self._agent_state), self._next = self._next, None
    actions = self._agent_output.action.tolist()
    steps = environments.step_many(self._processes, [
        actions[start:end] for start, end in zip(self._bounds[:-1], self._bounds[1:])])
    self._env_output = trajectories.concatenate(steps)
    return self._agent_output, self._env_output

  def unroll(self, unroll_length):
    """K unrolls of T steps, each with the previous unroll's last step first and its core state.

    env_outputs[t] is what agent_outputs[t].action led to; agent_outputs[t + 1] was computed from
    env_outputs[t] and agent_outputs[t].action, as in the original. Leaves are [K, T + 1, ...].
    """
    agent_state = self._agent_state
    env_outputs, agent_outputs = [self._env_output], [self._agent_output]
    for _ in range(unroll_length):
      agent_output, env_output = self.step()
      agent_outputs.append(agent_output)
      env_outputs.append(env_output)
    return trajectories.Unroll(self.level_names, self.actor_ids, agent_state,
                               trajectories.stack(env_outputs, axis=1),
                               trajectories.stack(agent_outputs, axis=1))


def deal_actors(groups, num_threads, levels, inference, agent):
  """Deals the process groups out to `num_threads` Actors (fewer if there are fewer groups), which
  start as `agent`'s actors do."""
  actors = []
  for i in range(min(num_threads, len(groups))):
    mine = groups[i::num_threads]
    ids = [j for group in mine for j in group.actor_ids]
    actors.append(Actor([levels[j] for j in ids], ids, [group.process for group in mine], inference,
                        agents.actor_initial_state(agent), agents.actor_first_output(agent)))
  return actors


class ActorPool:
  """Actor threads, each driving its share of the environment processes; unrolls go to `enqueue`.

  `synchronous` (batched A2C): after each unroll a thread waits until the learner has trained on it
  (`learner_stepped`), so every unroll is played with the weights it is trained on.
  """

  def __init__(self, config, groups, agent, env_spec, enqueue, stop, synchronous=False):
    num_actors = sum(len(group.actor_ids) for group in groups)
    self.inference = make_inference(agent, env_spec, num_actors, config.inference_timeout_ms,
                                    batched=config.dynamic_batching)
    self._enqueue = enqueue
    self._stop = stop
    self._unroll_length = config.unroll_length
    self._synchronous = synchronous
    self._learner_steps = 0
    self._stepped = threading.Condition()
    self._counting = threading.Lock()
    self.unrolls_enqueued = 0  # For the benchmarks' rates: what the actors made, not the learner ate.
    actors = deal_actors(groups, config.actor_threads, levels_lib.actor_levels(config),
                         self.inference, agent)
    self.threads = [threading.Thread(target=self._run, args=(actor,), name=f'actor_{i}', daemon=True)
                    for i, actor in enumerate(actors)]
    for thread in self.threads:
      thread.start()

  def _run(self, actor):
    try:
      while not self._stop.event.is_set():
        seen = self._learner_steps
        self._enqueue(tree.flatten(actor.unroll(self._unroll_length)))
        with self._counting:
          self.unrolls_enqueued += len(actor.actor_ids)
        if self._synchronous:
          with self._stepped:
            while self._learner_steps == seen and not self._stop.event.is_set():
              self._stepped.wait(0.5)
    except (tf.errors.CancelledError, dynamic_batching.BatcherClosedError):
      pass  # Shutting down.
    except Exception as e:  # pylint: disable=broad-except
      if not self._stop.event.is_set():
        logging.exception('Actor thread failed.')
      self._stop.fail(e)

  def learner_stepped(self):
    with self._stepped:
      self._learner_steps += 1
      self._stepped.notify_all()

  def close(self):
    """Stops the threads; the queue must be closed first (or the learner gone) to free them."""
    self._stop.event.set()
    self.inference.close()
    for thread in self.threads:
      thread.join()
