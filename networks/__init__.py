"""Sonnet 2 IMPALA agents (paper section 5, Figure 3).

    agent = networks.build_agent('deep', num_actions=9, use_lstm=True, use_instruction=True)
    networks.initialize(agent, frame_shape=(72, 96, 3))  # creates the variables
    state = agent.initial_state(batch_size)
    output, state = agent.step(last_action, env_output, state)          # actor, [B]
    outputs, state = agent.unroll(last_actions, env_outputs, state)     # learner, [T, B]
"""
import collections

import numpy as np
import tensorflow as tf

from networks import torsos
from networks.agent import TORSO_DTYPES, Agent, AgentOutput

NETWORKS = ('shallow', 'deep', 'nature')

# What `Agent.step` reads of an environment's output (environments.StepOutput has these fields too).
StepInput = collections.namedtuple('StepInput', 'reward info done observation')

_TORSOS = {'shallow': torsos.ShallowTorso, 'deep': torsos.DeepTorso, 'nature': torsos.NatureTorso}


def build_agent(network, num_actions, use_lstm, use_instruction, he_init=False, center_frames=False,
                popart_tasks=0, popart_scale_bounds=(1e-4, 1e6), torso_dtype='float32'):
  """Returns an `Agent` (a snt.Module) whose variables are created on its first call.

  he_init: the torso's weights start with variance 2/fan_in instead of Sonnet's 0.77/fan_in
    (torsos.py).
  center_frames: the torso reads frames scaled to [-0.5, 0.5] instead of the original's [0, 1].
  popart_tasks, popart_scale_bounds: PopArt's value head for that many tasks (popart.py); 0:
    IMPALA's.
  torso_dtype: 'float32', or 'bfloat16': the torso computes in bfloat16 on float32 weights
    (agent.py, Agent._features).
  """
  if network not in _TORSOS:
    raise ValueError(f'network must be one of {NETWORKS}, got {network!r}')
  return Agent(_TORSOS[network](he_init=he_init), num_actions, use_lstm, use_instruction,
               center_frames=center_frames, popart_tasks=popart_tasks,
               popart_scale_bounds=popart_scale_bounds, torso_dtype=torso_dtype)


def initialize(agent, frame_shape):
  """Creates the agent's variables with one eager step on a dummy batch of one.

  Call it before wrapping training in `tf.function` or reading `agent.trainable_variables`.
  frame_shape: (H, W, C) of the uint8 frames, e.g. (72, 96, 3) for DMLab, (84, 84, 4) for Atari.
  """
  observation = {'frame': tf.zeros((1,) + tuple(frame_shape), tf.uint8)}
  if agent.use_instruction:
    # More than one word, so the dummy step runs the same code as a real one.
    observation['instruction'] = tf.constant(['initialize the agent'])
  env_output = StepInput(
      reward=tf.zeros([1]), info=(), done=tf.ones([1], tf.bool), observation=observation)
  agent.step(tf.zeros([1], tf.int32), env_output, agent.initial_state(1))


def num_parameters(agent):
  """Number of trainable scalars (after `initialize`)."""
  return int(sum(np.prod(v.shape) for v in agent.trainable_variables))


__all__ = ['NETWORKS', 'TORSO_DTYPES', 'Agent', 'AgentOutput', 'build_agent', 'initialize', 'num_parameters']
