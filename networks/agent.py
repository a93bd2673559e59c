"""The IMPALA agent: torso, optional instruction encoder, optional LSTM core, policy and value heads."""
import collections
import threading

import sonnet as snt
from sonnet.src import custom_getter as snt_custom_getter
import tensorflow as tf
import tree

from networks import instruction as instruction_lib
from networks import popart

AgentOutput = collections.namedtuple('AgentOutput', 'action policy_logits baseline')

CORE_SIZE = 256
TORSO_DTYPES = ('float32', 'bfloat16')
# Sonnet's custom getter swaps its classes' __getattribute__ for the length of a call: two torsos
# traced at once in two threads could restore each other's, so bfloat16 calls take turns.
_CUSTOM_GETTER_LOCK = threading.Lock()


class Agent(snt.Module):
  """Actor and learner views of one network.

  `step` takes a batch of single steps ([B] leading dims), `unroll` a time-major [T, B] trajectory;
  both give the same numbers for the same inputs. `env_output` has the fields of
  `environments.StepOutput` (reward, done, observation; its `info` is never read).

  Sonnet creates the variables on the first call. Call `networks.initialize` (or `step`/`unroll`
  once) before asking for `trainable_variables` or building an optimiser on them.

  popart_tasks: 0 for IMPALA's value head, one value; N > 0 for PopArt's (networks/popart.py), a
  value per task normalised by the task's statistics, the baseline then the N unnormalised values
  ([..., N]; [...] when N is 1), within `popart_scale_bounds`.
  torso_dtype: what the torso computes in, 'float32' (the paper's) or 'bfloat16' (`_features`).
  """

  def __init__(self, torso, num_actions, use_lstm, use_instruction, center_frames=False,
               popart_tasks=0, popart_scale_bounds=(1e-4, 1e6), torso_dtype='float32',
               name='agent'):
    super().__init__(name=name)
    if torso_dtype not in TORSO_DTYPES:
      raise ValueError(f'torso_dtype must be one of {TORSO_DTYPES}, got {torso_dtype!r}')
    self._torso_dtype = tf.as_dtype(torso_dtype)
    self._num_actions = num_actions
    self._value_shape = (popart_tasks,) if popart_tasks > 1 else ()
    self._frame_offset = .5 if center_frames else 0.
    self._use_instruction = use_instruction
    self._torso = snt.allow_empty_variables(torso)  # No variables before the first call: ().
    self._instruction_encoder = (
        instruction_lib.InstructionEncoder() if use_instruction else None)
    self._core = snt.LSTM(CORE_SIZE, name='core') if use_lstm else None
    self._policy_logits = snt.Linear(num_actions, name='policy_logits')
    self._baseline = (popart.PopArtValue(popart_tasks, popart_scale_bounds) if popart_tasks
                      else snt.Linear(1, name='baseline'))

  @property
  def torso(self):
    return self._torso

  @property
  def num_actions(self):
    return self._num_actions

  @property
  def use_instruction(self):
    return self._use_instruction

  @property
  def value_shape(self):
    """The shape of one step's baseline: () for one value, (N,) for PopArt's N tasks."""
    return self._value_shape

  @property
  def value_head(self):
    """The module that maps core outputs [B, C] to the baseline (PopArt's learner reads its
    normalised outputs and rescales it)."""
    return self._baseline

  def initial_state(self, batch_size):
    """LSTMState(hidden, cell) of zeros [B, 256], or () for the feed-forward agent."""
    if self._core is None:
      return ()
    return self._core.initial_state(batch_size)

  def step(self, last_action, env_output, state):
    """One step for a batch: last_action int32 [B], env_output leaves [B, ...]."""
    features = self._features(self.torso_input(env_output.observation['frame']))
    core_input = self._core_input(features, last_action, env_output.reward, env_output.observation)
    core_output, state = self._core_step(core_input, env_output.done, state)
    return self._head(core_output), state

  def unroll(self, last_actions, env_outputs, state):
    """A trajectory: last_actions int32 [T, B], env_outputs leaves [T, B, ...]; T must be static.

    Returns AgentOutput with [T, B] leading dims and the state after the last step.
    """
    outputs, state, _ = self.unroll_with_features(last_actions, env_outputs, state)
    return outputs, state

  def unroll_with_features(self, last_actions, env_outputs, state):
    """`unroll`, and the torso's output features [T, B, F] (the learner watches for silent units)."""
    outputs, state, features, _ = self.unroll_with_core(last_actions, env_outputs, state)
    return outputs, state, features

  def unroll_with_core(self, last_actions, env_outputs, state):
    """`unroll_with_features`, and the core's outputs [T, B, C], which the heads read (PopArt's
    learner reads the value head again on them once it has rescaled it)."""
    # Torso and heads see T * B independent inputs; only the core needs the time loop.
    features = snt.BatchApply(lambda frame: self._features(self.torso_input(frame)))(
        env_outputs.observation['frame'])
    core_inputs = snt.BatchApply(self._core_input)(
        features, last_actions, env_outputs.reward, env_outputs.observation)
    core_outputs = []
    for core_input, done in zip(tf.unstack(core_inputs), tf.unstack(env_outputs.done)):
      core_output, state = self._core_step(core_input, done, state)
      core_outputs.append(core_output)
    core_outputs = tf.stack(core_outputs)
    return snt.BatchApply(self._head)(core_outputs), state, features, core_outputs

  def _core_input(self, features, last_action, reward, observation):
    """Torso features ++ clipped reward ++ one-hot last action (++ instruction encoding)."""
    parts = [
        features,
        tf.clip_by_value(tf.cast(reward, tf.float32), -1., 1.)[:, None],
        tf.one_hot(last_action, self._num_actions),
    ]
    if self._instruction_encoder is not None:
      parts.append(self._instruction_encoder(observation['instruction']))
    return tf.concat(parts, axis=1)

  def _features(self, frames):
    """The torso's output, float32, computed in `torso_dtype`: in bfloat16, the frames and the
    torso's float32 weights are cast as they are read (oneDNN's bfloat16 convolutions), so the
    optimiser and the checkpoints keep float32. The first call makes the weights, in float32."""
    if self._torso_dtype == tf.float32 or not self._torso.variables:
      return self._torso(frames)
    # snt.custom_variable_getter does this but flattens every attribute it reads with dm-tree,
    # which prints a warning about Sonnet's own set-valued attributes; the function under it
    # (Sonnet 2.0.2, pinned) takes a getter for each attribute as it is.
    getter = lambda x: tf.cast(x, self._torso_dtype) if isinstance(x, tf.Variable) else x
    members = list(self._torso.submodules) + [self._torso]
    with _CUSTOM_GETTER_LOCK, snt_custom_getter._custom_getter(getter, instances=members):  # pylint: disable=protected-access
      return tf.cast(self._torso(tf.cast(frames, self._torso_dtype)), tf.float32)

  def torso_input(self, frame):
    """uint8 frames as the torso reads them: in [0, 1] as the original, or [-0.5, 0.5] (centred)."""
    return tf.cast(frame, tf.float32) / 255. - self._frame_offset

  def _core_step(self, core_input, done, state):
    if self._core is None:
      return core_input, state
    # `done` marks the first step of a new episode: start it from a zero state.
    state = tree.map_structure(
        lambda s: tf.where(done[:, None], tf.zeros_like(s), s), state)
    return self._core(core_input, state)

  def _head(self, core_output):
    policy_logits = self._policy_logits(core_output)
    baseline = self._baseline(core_output)
    if not self._value_shape:
      baseline = tf.squeeze(baseline, axis=-1)
    action = tf.random.categorical(policy_logits, num_samples=1, dtype=tf.int32)
    return AgentOutput(tf.squeeze(action, axis=1), policy_logits, baseline)
