"""The agent a configuration describes, and what an actor starts with: its core state, and the
agent's output before its first step."""
import numpy as np
import tensorflow as tf
import tree

import networks
from runtime import levels as levels_lib


def make_agent(config, env_spec):
  """The configured network for `env_spec`'s observations and actions, its variables not yet
  created: with --popart, a value output for each of the run's tasks (runtime.levels.tasks)."""
  return networks.build_agent(
      config.network, env_spec.num_actions, config.use_lstm,
      use_instruction=env_spec.has_instruction, he_init=config.he_init,
      center_frames=config.center_frames,
      popart_tasks=len(levels_lib.tasks(config)) if config.popart else 0,
      popart_scale_bounds=(config.popart_scale_min, config.popart_scale_max),
      torso_dtype=config.torso_dtype)


def build_agent(config, env_spec):
  """`make_agent`, its variables created (from `config.seed`)."""
  tf.random.set_seed(config.seed)
  agent = make_agent(config, env_spec)
  networks.initialize(agent, env_spec.frame_shape)
  return agent


def actor_first_output(agent):
  """The original's "previous" output before an actor's first step, without a batch dimension:
  action 0, uniform logits, zero baseline (one per task with PopArt)."""
  return networks.AgentOutput(action=np.int32(0),
                              policy_logits=np.zeros(agent.num_actions, np.float32),
                              baseline=np.zeros(agent.value_shape, np.float32))


def actor_initial_state(agent):
  """The core state one actor starts with, as NumPy values without a batch dimension."""
  return tree.map_structure(lambda t: t[0].numpy(), agent.initial_state(1))
