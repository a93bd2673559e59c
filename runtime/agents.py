"""The agent a configuration describes, and the core state an actor starts with."""
import tensorflow as tf
import tree

import networks


def build_agent(config, env_spec):
  """The configured network for `env_spec`'s observations and actions, its variables created
  (from `config.seed`)."""
  tf.random.set_seed(config.seed)
  agent = networks.build_agent(config.network, env_spec.num_actions, config.use_lstm,
                               use_instruction=env_spec.has_instruction, he_init=config.he_init,
                               center_frames=config.center_frames)
  networks.initialize(agent, env_spec.frame_shape)
  return agent


def actor_initial_state(agent):
  """The core state one actor starts with, as NumPy values without a batch dimension."""
  return tree.map_structure(lambda t: t[0].numpy(), agent.initial_state(1))
