"""Torso units that never fire: a ReLU unit silent on every frame gets no gradient and is lost to
learning. Shared by pong_learning.py and learning_diagnostics.py."""
import os
import sys

import numpy as np

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runtime import startup  # pylint: disable=g-import-not-at-top,wrong-import-position


def random_play_frames(level_name, steps=600):
  """(frames of `steps` steps of random play from seed 0, the number of actions)."""
  import environments  # pylint: disable=import-outside-toplevel
  env = environments.create_environment(level_name, seed=0)
  rng = np.random.default_rng(0)
  env.initial()
  frames = np.stack([env.step(int(rng.integers(env.spec.num_actions))).observation['frame']
                     for _ in range(steps)])
  env.close()
  return frames, env.spec.num_actions


def latest_checkpoint(logdir):
  startup.import_tensorflow_quietly()
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf.train.latest_checkpoint(logdir)


def silent_units(checkpoint, frames, num_actions, network, center_frames=False):
  """Per layer of the feed-forward torso (shallow or nature) restored from `checkpoint`: (units that
  never fire on `frames`, units)."""
  startup.import_tensorflow_quietly()  # TensorFlow's start-up notices filtered, as in experiment.py.
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import networks  # pylint: disable=import-outside-toplevel
  agent = networks.build_agent(network, num_actions, use_lstm=False, use_instruction=False,
                               center_frames=center_frames)
  networks.initialize(agent, frames.shape[1:])
  tf.train.Checkpoint(agent=agent).restore(checkpoint).expect_partial()
  activations = agent.torso.activations(agent.torso_input(frames))
  return {name: (int(np.all(a.numpy().reshape(-1, a.shape[-1]) == 0, axis=0).sum()), a.shape[-1])
          for name, a in activations.items()}
