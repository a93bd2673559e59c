"""IMPALA: training and testing (the original release's experiment.py, in TensorFlow 2).

    python experiment.py --level_name=atari/pong --logdir=/tmp/agent/pong        # train
    python experiment.py --level_name=atari/pong --logdir=/tmp/agent/pong --mode=test

Train mode: `num_actors` actors play with the latest weights, each its own environment, run in
processes apart from the learner's (`envs_per_process` environments a process; 1, as the original,
by default). `actor_threads` threads drive the actors, and their inference is dynamically batched
across threads. Every `unroll_length` steps an actor puts its unroll (T + 1 steps, overlapping the
previous unroll by one, with the behaviour policy's outputs and the core state at its start) into a
bounded trajectory queue. The learner takes `batch_size` unrolls, one batch ahead of the one it
trains on (the StagingArea's role), and applies the V-trace actor-critic loss with RMSProp,
annealing the learning rate linearly to zero.

Test mode restores the latest checkpoint, plays `test_num_episodes` episodes per level and writes
`<logdir>/evaluation.json` and its report (see `dmlab30/evaluation.py`).

Flags keep the original's names and defaults (DeepMind Lab settings). For `atari/*` and `atari57`,
flags not given on the command line take the paper's Atari values (ATARI_HYPERPARAMETERS).
"""
import collections
import csv
import dataclasses
import os
import queue as py_queue
import signal
import socket
import subprocess
import sys
import threading
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
from absl import logging
import numpy as np
import sonnet as snt
import tensorflow as tf
import tree

import atari57
import dmlab30
from dmlab30 import evaluation
import dynamic_batching
import environments
import networks
import vtrace

if __name__ == '__main__':
  # `python experiment.py` runs this file as the module `experiment`, which the baselines import too:
  # one copy of its flags and classes.
  import experiment  # pylint: disable=import-self
  app.run(experiment.main)

_FLAGS_BEFORE = frozenset(flags.FLAGS)

# IMPALA, then the baselines (baselines/): A3C and batched A2C (the paper's Table 1), and the A3C paper's
# asynchronous value-based methods.
AGENTS = ('impala', 'a3c', 'a2c', 'one_step_q', 'one_step_sarsa', 'n_step_q')
Q_AGENTS = ('one_step_q', 'one_step_sarsa', 'n_step_q')
ASYNC_AGENTS = ('a3c',) + Q_AGENTS  # Actor-learner threads, each updating the shared weights.

# The original's flags, names and defaults.
flags.DEFINE_string('logdir', '/tmp/agent', 'TensorFlow log directory.')
flags.DEFINE_enum('mode', 'train', ['train', 'test'], 'Training or test mode.')
flags.DEFINE_integer('test_num_episodes', 10, 'Number of episodes per level (test mode).')
flags.DEFINE_integer('task', -1, 'Task id. Use -1 for local training.')
flags.DEFINE_enum('job_name', 'learner', ['learner', 'actor'], 'Job name. Ignored when task is -1.')
flags.DEFINE_string('learner_address', 'localhost:8001',
                    "The learner's TensorFlow server, host:port (distributed training).")
flags.DEFINE_string('actor_address', '',
                    "This actor task's own server, host:port, reachable by the learner; '' picks a free "
                    'port on localhost.')
flags.DEFINE_integer('num_actor_tasks', 0, 'Actor processes; actor task i plays actors i, i + N, ... '
                     '0: one per actor, as the original.')
flags.DEFINE_float('learner_timeout_secs', 600., 'How long an actor waits for an unreachable learner.')
flags.DEFINE_bool('local_cluster', False, 'Start the learner and the actor tasks as processes on this '
                  'machine, restart actor tasks that die, and stop them all together.')
flags.DEFINE_integer('total_environment_frames', int(1e9),
                     'Total environment frames to train for (agent steps x action repeats).')
flags.DEFINE_integer('num_actors', 4, 'Number of actors.')
flags.DEFINE_integer('batch_size', 2, 'Batch size for training (unrolls).')
flags.DEFINE_integer('unroll_length', 100, 'Unroll length in agent steps.')
flags.DEFINE_integer('num_action_repeats', 4, 'Number of action repeats.')
flags.DEFINE_integer('seed', 1, 'Random seed: of the weights, and actor i plays with seed + i.')
flags.DEFINE_float('entropy_cost', 0.00025, 'Entropy cost/multiplier.')
flags.DEFINE_float('baseline_cost', .5, 'Baseline cost/multiplier.')
flags.DEFINE_float('discounting', .99, 'Discounting factor.')
flags.DEFINE_enum('reward_clipping', 'abs_one', ['abs_one', 'soft_asymmetric', 'soft_asymmetric_paper'],
                  'Reward clipping in the loss: abs_one clips to [-1, 1]; soft_asymmetric is the '
                  "original code's tanh squashing, soft_asymmetric_paper the paper's Figure D.1 one.")
flags.DEFINE_string('dataset_path', '', 'Path to the dataset (psychlab levels need it).')
flags.DEFINE_string('level_name', 'explore_goal_locations_small',
                    "A DeepMind Lab level, 'dmlab30', 'atari/<game>' (an ale-py id such as "
                    "atari/pong), 'atari57', or 'synthetic/dmlab'.")
flags.DEFINE_integer('width', 96, 'Width of observation (DeepMind Lab).')
flags.DEFINE_integer('height', 72, 'Height of observation (DeepMind Lab).')
flags.DEFINE_float('learning_rate', 0.00048, 'Learning rate.')
flags.DEFINE_float('decay', .99, 'RMSProp optimizer decay.')
flags.DEFINE_float('momentum', 0., 'RMSProp momentum.')
flags.DEFINE_float('epsilon', .1, 'RMSProp epsilon.')
flags.DEFINE_enum('optimizer', 'rmsprop', ['rmsprop', 'adam'],
                  "The learner's optimiser: RMSProp as the original (--decay, --momentum, --epsilon) "
                  'or Adam (--adam_epsilon), as RLlib and SEED RL train V-trace agents.')
flags.DEFINE_float('adam_epsilon', 1e-8, 'Adam epsilon (--optimizer=adam).')
# What the port adds.
flags.DEFINE_enum('network', 'deep', networks.NETWORKS,
                  "Torso: the 15-layer ResNet or the shallow CNN (the paper's), or the Nature DQN CNN.")
flags.DEFINE_bool('use_lstm', True, 'LSTM core; without it the agent is feed-forward.')
flags.DEFINE_bool('he_init', False, "Torso weights start with variance 2/fan_in (He et al.) instead of "
                  "Sonnet's default, the original's (0.77/fan_in).")
flags.DEFINE_bool('center_frames', False, "The torso reads frames scaled to [-0.5, 0.5] instead of "
                  "the original's [0, 1]: a uniform background then adds little to each filter's "
                  'response, and first-layer filters do not all die at once (Atari: learns Pong far '
                  'faster; give it again in test mode, as --network).')
flags.DEFINE_float('gradient_clip_norm', 0., 'Global gradient norm clipping; 0: none (the original).')
flags.DEFINE_enum('correction', 'vtrace', vtrace.CORRECTIONS,
                  "Off-policy correction (the paper's Table 2).")
flags.DEFINE_bool('atari_full_action_space', False, 'All 18 Atari actions (atari57 always uses them).')
flags.DEFINE_integer('max_episode_frames', 108_000, 'Atari episodes are cut off after this many frames.')
flags.DEFINE_integer('test_noop_max', 30, 'Atari test episodes start with 1 to this many no-ops.')
flags.DEFINE_integer('checkpoint_secs', 600, 'Seconds between checkpoints (one is also written at exit).')
flags.DEFINE_integer('summary_secs', 10, 'Seconds between summaries and progress lines.')
flags.DEFINE_integer('actor_threads', 4, 'Threads that drive the actors, each stepping its share of '
                     'them together (one inference request per step for the share).')
flags.DEFINE_float('inference_timeout_ms', 5., 'How long batched inference waits for more actors.')
flags.DEFINE_enum('agent', 'impala', AGENTS, 'The agent: IMPALA, or a baseline of the paper (A3C, '
                  'batched A2C) or of the A3C paper (asynchronous one-step Q, one-step Sarsa, n-step Q); '
                  'see baselines/.')
flags.DEFINE_enum('a2c_sync', 'trajectory', ['step', 'trajectory'], "--agent=a2c: 'step' steps every "
                  "actor's environment together with one inference call; 'trajectory' lets each actor "
                  "(its own thread) play its unroll alone: the paper's Table 1 variants.")
flags.DEFINE_bool('dynamic_batching', True, "Batch the actor threads' inference together (IMPALA, "
                  "--agent=a2c --a2c_sync=trajectory); without it each thread runs its own.")
flags.DEFINE_integer('target_update_frames', 40_000, 'Q-learning agents: frames between target network '
                     'updates.')
flags.DEFINE_integer('exploration_anneal_frames', 4_000_000, 'Q-learning agents: frames over which '
                     "each thread's epsilon anneals from 1 to its final value.")
flags.DEFINE_integer('envs_per_process', 1, 'Environments each environment process hosts, stepped one '
                     'after another. 1, as the original: a process per actor. More costs less per step '
                     'where steps are cheap (Atari) and cores few.')

FLAGS = flags.FLAGS
_OWN_FLAGS = frozenset(FLAGS) - _FLAGS_BEFORE  # For the evaluation results' metadata.

# Paper appendix G.1 (Atari experts), for flags not given on the command line.
ATARI_HYPERPARAMETERS = dict(
    network='shallow', use_lstm=False, unroll_length=20, batch_size=32, entropy_cost=0.01,
    learning_rate=0.0006, epsilon=0.01, gradient_clip_norm=40., total_environment_frames=int(2e8))
# The baselines keep those but for the A3C paper's t_max = 5 and RMSProp epsilon 0.1.
A3C_ATARI_HYPERPARAMETERS = dict(ATARI_HYPERPARAMETERS, unroll_length=5, epsilon=0.1)

# level_name and actor (its index) identify where an unroll comes from; agent_state is the core state
# at its start; env_outputs and agent_outputs hold T + 1 steps.
Unroll = collections.namedtuple('Unroll', 'level_name actor agent_state env_outputs agent_outputs')


@dataclasses.dataclass(frozen=True)
class Config:
  """Everything a run is decided by, resolved from the flags and checked before any work."""
  logdir: str
  mode: str
  level_name: str
  test_num_episodes: int
  total_environment_frames: int
  num_actors: int
  batch_size: int
  unroll_length: int
  seed: int
  entropy_cost: float
  baseline_cost: float
  discounting: float
  reward_clipping: str
  learning_rate: float
  decay: float
  momentum: float
  epsilon: float
  optimizer: str
  adam_epsilon: float
  network: str
  use_lstm: bool
  he_init: bool
  center_frames: bool
  gradient_clip_norm: float
  correction: str
  checkpoint_secs: int
  summary_secs: int
  actor_threads: int
  inference_timeout_ms: float
  envs_per_process: int
  agent: str
  a2c_sync: str
  dynamic_batching: bool
  target_update_frames: int
  exploration_anneal_frames: int
  job_name: str
  task: int
  learner_address: str
  actor_address: str
  num_actor_tasks: int
  learner_timeout_secs: float
  local_cluster: bool
  env_config: environments.EnvConfig

  @property
  def frames_per_step(self):
    """Environment frames consumed by one learner step."""
    return self.unroll_length * self.batch_size * self.env_config.num_action_repeats


def is_atari(level_name):
  return level_name == 'atari57' or level_name.startswith('atari/')


def config_from_flags():
  """Reads the flags, applies the Atari defaults, checks every value; raises ValueError if bad."""
  values = {name: FLAGS[name].value for name in (
      'logdir', 'mode', 'level_name', 'test_num_episodes', 'total_environment_frames', 'num_actors',
      'batch_size', 'unroll_length', 'seed', 'entropy_cost', 'baseline_cost', 'discounting',
      'reward_clipping', 'learning_rate', 'decay', 'momentum', 'epsilon', 'optimizer', 'adam_epsilon',
      'network', 'use_lstm', 'he_init', 'center_frames', 'gradient_clip_norm', 'correction',
      'checkpoint_secs', 'summary_secs', 'actor_threads', 'inference_timeout_ms', 'envs_per_process',
      'agent', 'a2c_sync', 'dynamic_batching', 'target_update_frames', 'exploration_anneal_frames',
      'job_name', 'task', 'learner_address', 'actor_address', 'num_actor_tasks', 'learner_timeout_secs',
      'local_cluster')}
  if is_atari(values['level_name']):
    preset = ATARI_HYPERPARAMETERS if values['agent'] == 'impala' else A3C_ATARI_HYPERPARAMETERS
    defaults = {k: v for k, v in preset.items() if FLAGS[k].using_default_value}
    values.update(defaults)
    if defaults:
      logging.info('Atari level: the paper\'s Atari values for flags not given: %s', defaults)

  positive = ('test_num_episodes', 'total_environment_frames', 'num_actors', 'batch_size',
              'unroll_length', 'num_action_repeats', 'width', 'height', 'max_episode_frames',
              'checkpoint_secs', 'summary_secs', 'actor_threads', 'envs_per_process', 'learning_rate',
              'epsilon', 'adam_epsilon', 'target_update_frames', 'exploration_anneal_frames')
  for name in positive:
    value = values.get(name, FLAGS[name].value)
    if not value > 0:
      raise ValueError(f'--{name} must be positive, got {value}')
  for name in ('entropy_cost', 'baseline_cost', 'momentum', 'gradient_clip_norm', 'test_noop_max',
               'inference_timeout_ms'):
    value = values.get(name, FLAGS[name].value)
    if value < 0:
      raise ValueError(f'--{name} must be >= 0, got {value}')
  for name in ('discounting', 'decay'):
    if not 0 <= values[name] <= 1:
      raise ValueError(f'--{name} must be in [0, 1], got {values[name]}')
  values['num_actor_tasks'] = values['num_actor_tasks'] or values['num_actors']
  _check_distributed(values)
  _resolve_agent(values)
  if values['mode'] == 'test' and tf.train.latest_checkpoint(values['logdir']) is None:
    raise ValueError(f'--mode=test: no checkpoint in --logdir={values["logdir"]}; train there first')

  env_config = environments.EnvConfig(
      width=FLAGS.width, height=FLAGS.height, num_action_repeats=FLAGS.num_action_repeats,
      dataset_path=FLAGS.dataset_path,
      level_cache_dir=os.path.join(values['logdir'], 'level_cache'),
      atari_full_action_space=FLAGS.atari_full_action_space or values['level_name'] == 'atari57',
      max_episode_frames=FLAGS.max_episode_frames, noop_max=FLAGS.test_noop_max)
  config = Config(env_config=env_config, **values)
  for level in set(actor_levels(config) + test_levels(config)):
    _check_level_name(level)
  return config


def _resolve_agent(values):
  """Sets what a baseline agent decides itself; refuses flags given that contradict it."""
  agent = values['agent']
  if agent == 'impala':
    return
  if values['task'] != -1 or values['local_cluster']:
    raise ValueError(f'--agent={agent} trains on one machine: leave --task at -1 and --local_cluster '
                     'off (only IMPALA runs distributed)')
  decided = {'correction': 'none'}  # On-policy: actors act with the weights the update uses.
  if agent == 'a2c':
    # One unroll from every actor per update, played by one thread ('step') or a thread each.
    decided.update(batch_size=values['num_actors'],
                   actor_threads=1 if values['a2c_sync'] == 'step' else values['num_actors'])
  else:
    decided.update(batch_size=1, actor_threads=values['num_actors'])  # A thread per actor.
  for name, value in decided.items():
    if not FLAGS[name].using_default_value and FLAGS[name].value != value:
      raise ValueError(f'--{name}={FLAGS[name].value} does not fit --agent={agent}, which uses '
                       f'{value} (see baselines/)')
  values.update(decided)
  if values['actor_threads'] > 1 and values['envs_per_process'] != 1:
    raise ValueError(f'--agent={agent} plays each environment from a thread of its own: '
                     f'--envs_per_process must be 1, got {values["envs_per_process"]}')


def _check_address(flag, address):
  host, _, port = address.rpartition(':')
  if not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise ValueError(f'--{flag} must be host:port, got {address!r}')


def _check_distributed(values):
  if not 0 < values['num_actor_tasks'] <= values['num_actors']:
    raise ValueError(f'--num_actor_tasks must be in [1, --num_actors={values["num_actors"]}], '
                     f'got {values["num_actor_tasks"]}')
  if values['learner_timeout_secs'] <= 0:
    raise ValueError(f'--learner_timeout_secs must be positive, got {values["learner_timeout_secs"]}')
  _check_address('learner_address', values['learner_address'])
  if values['actor_address']:
    _check_address('actor_address', values['actor_address'])
  if values['task'] == -1:
    return  # Training on this machine, or --local_cluster starting the tasks.
  if values['local_cluster']:
    raise ValueError('--local_cluster starts the tasks itself: leave --task at -1')
  if values['mode'] != 'train':
    raise ValueError('--job_name/--task: test mode runs on one machine; leave --task at -1')
  if values['job_name'] == 'learner' and values['task'] != 0:
    raise ValueError(f'--task must be 0 for the learner, got {values["task"]}')
  if values['job_name'] == 'actor' and not 0 <= values['task'] < values['num_actor_tasks']:
    raise ValueError(f'--task must be in [0, --num_actor_tasks={values["num_actor_tasks"]}) for an '
                     f'actor, got {values["task"]}')


def _check_level_name(level):
  """Fails early, with the environment's own message, on a level that cannot be played."""
  try:
    environments.environment_spec(level, environments.EnvConfig())
  except ValueError as e:
    raise ValueError(f'--level_name: {e}') from None


def actor_levels(config):
  """The level each actor plays in train mode: actor i gets level i mod N of a multi-task suite."""
  if config.level_name == 'dmlab30':
    levels = dmlab30.TRAINING_LEVELS
  elif config.level_name == 'atari57':
    levels = tuple('atari/' + game for game in atari57.GAMES)
  else:
    levels = (config.level_name,)
  return [levels[i % len(levels)] for i in range(config.num_actors)]


def test_levels(config):
  """The levels test mode plays: DMLab-30's hold-out test levels, every Atari-57 game, or the one."""
  if config.level_name == 'dmlab30':
    return list(dmlab30.TEST_LEVELS)
  if config.level_name == 'atari57':
    return ['atari/' + game for game in atari57.GAMES]
  return [config.level_name]


# --- The agent and its inference --------------------------------------------------------------------

def build_agent(config, env_spec):
  tf.random.set_seed(config.seed)
  agent = networks.build_agent(config.network, env_spec.num_actions, config.use_lstm,
                               use_instruction=env_spec.has_instruction, he_init=config.he_init,
                               center_frames=config.center_frames)
  networks.initialize(agent, env_spec.frame_shape)
  return agent


def example_env_output(env_spec):
  """One environment's StepOutput as an EnvironmentGroup gives it (`environments.process.stack_outputs`)
  but without the group's leading axis: NumPy values, instructions as UTF-8 bytes."""
  observation = {'frame': np.zeros(env_spec.frame_shape, np.uint8)}
  if env_spec.has_instruction:
    observation['instruction'] = np.array(b'', object)
  return environments.StepOutput(
      reward=np.float32(0), info=environments.StepOutputInfo(np.float32(0), np.int32(0)),
      done=np.bool_(True), observation=observation)


def _spec(value, batch_dims=()):
  dtype = tf.string if value.dtype == object else tf.as_dtype(value.dtype)
  return tf.TensorSpec(tuple(batch_dims) + value.shape, dtype)


def batch_signature(example, batch_size):
  """TensorSpecs of a batch of `batch_size` values shaped as the nest of NumPy values `example`."""
  return tree.map_structure(lambda x: _spec(x, [batch_size]), example)


def actor_initial_state(agent):
  """The core state one actor starts with, as NumPy values without a batch dimension."""
  return tree.map_structure(lambda t: t[0].numpy(), agent.initial_state(1))


def make_inference(agent, env_spec, max_batch_size, timeout_ms, batched=True):
  """`agent.step` on NumPy values of a group of actors, dynamically batched across callers or not."""
  initial_state = actor_initial_state(agent)
  example = (np.int32(0), _without_info(example_env_output(env_spec)), initial_state)
  signature = tree.map_structure(lambda x: _spec(x, [None]), example)

  @tf.function(input_signature=signature)
  def step(last_action, env_output, core_state):
    return agent.step(last_action, env_output, core_state)

  step(*_stack([example]))  # Trace once, before any thread.
  if not batched:
    return dynamic_batching.Unbatched(lambda inputs: step(*inputs))
  return dynamic_batching.DynamicBatcher(lambda batch: step(*batch), max_batch_size, timeout_ms)


def _without_info(env_output):
  return env_output._replace(info=())  # The network does not read it.


class Actor:
  """Plays a group of environments (each an actor of the paper) with one inference request per step.

  Every environment keeps its own level, seed and core state; grouping them only saves the
  per-request overhead of the Python side. `processes` host the environments in the order of
  `actor_ids`, each an `environments.EnvironmentGroup` of one or more. Values are batched over the
  group ([K, ...]).
  """

  def __init__(self, level_names, actor_ids, processes, inference, initial_state, num_actions):
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
    self._env_output = _concatenate(initial)
    # The original's first "previous" output: action 0, uniform logits, zero baseline.
    self._agent_output = networks.AgentOutput(
        action=np.zeros(group, np.int32), policy_logits=np.zeros((group, num_actions), np.float32),
        baseline=np.zeros(group, np.float32))
    self._next = None  # (agent_output, agent_state) once chosen ahead of the step.

  def next_output(self):
    """The agent's outputs for the environments' current outputs: what the next `step` acts on."""
    if self._next is None:
      self._next = self._inference(
          (self._agent_output.action, _without_info(self._env_output), self._agent_state))
    return self._next[0]

  def step(self):
    """Acts once in every environment; returns (agent_output, env_output): actions and what they led to."""
    self.next_output()
    (self._agent_output, self._agent_state), self._next = self._next, None
    actions = self._agent_output.action.tolist()
    steps = environments.step_many(self._processes, [
        actions[start:end] for start, end in zip(self._bounds[:-1], self._bounds[1:])])
    self._env_output = _concatenate(steps)
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
    return Unroll(self.level_names, self.actor_ids, agent_state, _stack(env_outputs, axis=1),
                  _stack(agent_outputs, axis=1))


def _stack(nests, axis=0):
  return tree.map_structure(lambda *xs: np.stack(xs, axis=axis), *nests)


def _concatenate(outputs):
  """The processes' stacked StepOutputs ([K_i, ...]) as one [sum K_i, ...]."""
  if len(outputs) == 1:
    return outputs[0]
  return tree.map_structure(lambda *xs: np.concatenate(xs), *outputs)


def unroll_example(agent, env_spec, unroll_length):
  """An Unroll of NumPy zeros, for the trajectory queue's and the learner's signatures."""
  state = actor_initial_state(agent)
  steps = unroll_length + 1
  env_outputs = tree.map_structure(lambda x: np.stack([x] * steps), example_env_output(env_spec))
  agent_outputs = networks.AgentOutput(
      action=np.zeros(steps, np.int32), policy_logits=np.zeros((steps, env_spec.num_actions), np.float32),
      baseline=np.zeros(steps, np.float32))
  return Unroll(np.array(b'', object), np.int32(0), state, env_outputs, agent_outputs)


# --- The learner ------------------------------------------------------------------------------------

def clip_rewards(rewards, method):
  if method == 'abs_one':
    return tf.clip_by_value(rewards, -1., 1.)
  if method == 'soft_asymmetric':  # The original code.
    squeezed = tf.tanh(rewards / 5.0)
    return tf.where(rewards < 0, .3 * squeezed, squeezed) * 5.
  if method == 'soft_asymmetric_paper':  # The paper's Figure D.1 caption.
    squeezed = tf.tanh(rewards)
    return .3 * tf.minimum(squeezed, 0.) + 5. * tf.maximum(squeezed, 0.)
  raise ValueError(f'unknown reward clipping {method!r}')


def compute_baseline_loss(advantages):
  return .5 * tf.reduce_sum(tf.square(advantages))


def compute_entropy_loss(logits):
  policy = tf.nn.softmax(logits)
  log_policy = tf.nn.log_softmax(logits)
  return tf.reduce_sum(policy * log_policy)  # The negative entropy, summed over time and batch.


def compute_policy_gradient_loss(action_log_probs, advantages):
  return -tf.reduce_sum(action_log_probs * tf.stop_gradient(advantages))


def make_optimizer(config, learning_rate, variables):
  """The learner's optimiser for `variables`, its slots created now so that checkpoints restore there.

  RMSProp as TF1's RMSPropOptimizer, the original's: epsilon inside the square root and the mean
  square starting at 1. Adam as Kingma & Ba (Sonnet's), with its step count starting at 0.
  """
  if config.optimizer == 'adam':
    optimizer = snt.optimizers.Adam(learning_rate=learning_rate, epsilon=config.adam_epsilon)
  else:
    optimizer = snt.optimizers.RMSProp(learning_rate=learning_rate, decay=config.decay,
                                       momentum=config.momentum, epsilon=config.epsilon)
  optimizer.apply([tf.zeros_like(v) for v in variables], variables)  # Moves no weight.
  if config.optimizer == 'adam':
    optimizer.step.assign(0)
  else:
    for ms in optimizer.ms:
      ms.assign(tf.ones_like(ms))
  return optimizer


class Learner:
  """The V-trace loss, the optimiser and the frame counter, with a linearly annealed learning rate."""

  def __init__(self, agent, config):
    self.agent = agent
    self._config = config
    self.num_env_frames = tf.Variable(0, dtype=tf.int64, trainable=False, name='num_env_frames')
    self.learning_rate = tf.Variable(config.learning_rate, dtype=tf.float32, trainable=False)
    self.optimizer = make_optimizer(config, self.learning_rate, agent.trainable_variables)

  def update_learning_rate(self):
    progress = tf.cast(self.num_env_frames, tf.float32) / float(self._config.total_environment_frames)
    self.learning_rate.assign(self._config.learning_rate * tf.maximum(0., 1. - progress))

  def loss(self, batch, agent=None):
    """The IMPALA loss on a time-major batch; returns (total, dict of its terms and diagnostics).

    `agent`: whose outputs the loss is of; the learner's own by default (A3C's threads pass their local
    copies).
    """
    config = self._config
    agent = self.agent if agent is None else agent
    learner_outputs, _ = agent.unroll(batch.agent_outputs.action, batch.env_outputs,
                                      batch.agent_state)
    bootstrap_value = learner_outputs.baseline[-1]
    # After the shift, the actions at time t (in agent_outputs and learner_outputs) are what led to
    # the environment outputs at time t.
    agent_outputs = tree.map_structure(lambda t: t[1:], batch.agent_outputs)
    rewards, _, done, _ = tree.map_structure(lambda t: t[1:], batch.env_outputs)
    learner_outputs = tree.map_structure(lambda t: t[:-1], learner_outputs)

    discounts = tf.cast(~done, tf.float32) * config.discounting
    vtrace_returns = vtrace.from_logits(
        behaviour_policy_logits=agent_outputs.policy_logits,
        target_policy_logits=learner_outputs.policy_logits,
        actions=agent_outputs.action,
        discounts=discounts,
        rewards=clip_rewards(rewards, config.reward_clipping),
        values=learner_outputs.baseline,
        bootstrap_value=bootstrap_value,
        correction=config.correction)
    terms = {
        'policy_gradient_loss': compute_policy_gradient_loss(
            vtrace_returns.target_action_log_probs, vtrace_returns.pg_advantages),
        'baseline_loss': config.baseline_cost * compute_baseline_loss(
            vtrace_returns.vs - learner_outputs.baseline),
        'entropy_loss': config.entropy_cost * compute_entropy_loss(learner_outputs.policy_logits),
    }
    total = tf.add_n(list(terms.values()))
    terms['total_loss'] = total
    # How far the actors' policy lags the learner's: 0 when every unroll is played on-policy.
    terms['max_abs_log_rho'] = tf.reduce_max(tf.abs(vtrace_returns.log_rhos))
    return total, terms

  def train_step(self, batch):
    """One update on a batch of unrolls [B, T + 1, ...]; returns the loss terms."""
    batch = time_major(batch)
    with tf.GradientTape() as tape:
      total, terms = self.loss(batch)
    terms.update(self.apply_gradients(tape.gradient(total, self.agent.trainable_variables)))
    return terms

  def apply_gradients(self, gradients):
    """Clips `gradients` (of the agent's trainable variables), applies them, counts the batch's frames."""
    self.update_learning_rate()
    terms = {'gradient_norm': tf.linalg.global_norm(gradients)}
    if self._config.gradient_clip_norm > 0:
      gradients, _ = tf.clip_by_global_norm(gradients, self._config.gradient_clip_norm,
                                            use_norm=terms['gradient_norm'])
    self.optimizer.apply(gradients, self.agent.trainable_variables)
    self.num_env_frames.assign_add(self._config.frames_per_step)
    terms['learning_rate'] = self.learning_rate.read_value()
    return terms


def time_major(batch):
  """An Unroll batch [B, T + 1, ...] as tensors, its env and agent outputs [T + 1, B, ...]."""
  batch = tree.map_structure(tf.convert_to_tensor, batch)
  return batch._replace(env_outputs=_time_major(batch.env_outputs),
                        agent_outputs=_time_major(batch.agent_outputs))


def _time_major(nest):
  """[B, T, ...] to [T, B, ...] for every tensor of a nest."""
  return tree.map_structure(lambda t: tf.transpose(t, [1, 0] + list(range(2, t.shape.rank))), nest)


def learner_device():
  """The learner trains on a GPU when one is visible, otherwise on the CPU."""
  return '/device:GPU:0' if tf.config.list_logical_devices('GPU') else '/device:CPU:0'


class Prefetcher:
  """Takes batches off the trajectory queue one ahead of the learner, onto its device."""

  def __init__(self, trajectory_queue, structure, batch_size, device):
    self._queue = trajectory_queue
    self._structure = structure
    self._batch_size = batch_size
    self._device = device
    self._batches = py_queue.Queue(maxsize=1)
    self._closed = threading.Event()
    self.wait_seconds = 0.
    self._thread = threading.Thread(target=self._run, name='prefetch', daemon=True)
    self._thread.start()

  def _run(self):
    try:
      while not self._closed.is_set():
        flat = self._queue.dequeue_many(self._batch_size)
        with tf.device(self._device):
          flat = [tf.identity(t) for t in flat]
        self._put(tree.unflatten_as(self._structure, flat))
    except (tf.errors.OutOfRangeError, tf.errors.CancelledError):
      self._put(None)  # The queue was closed.

  def _put(self, batch):
    while not self._closed.is_set():
      try:
        return self._batches.put(batch, timeout=0.5)
      except py_queue.Full:
        pass

  def close(self):
    """Ends the thread, which would otherwise hold the queue (and its shared name); close the queue
    first, to end a dequeue that waits for unrolls."""
    self._closed.set()
    self._thread.join()

  def get(self, stop_event):
    """The next batch, or None once the queue is closed or `stop_event` is set."""
    start = time.monotonic()
    batch = None
    while not stop_event.is_set():
      try:
        batch = self._batches.get(timeout=0.5)
        break
      except py_queue.Empty:
        pass
    self.wait_seconds += time.monotonic() - start
    return batch


# --- Progress, summaries and the episode log ---------------------------------------------------------

class Monitor:
  """Finished episodes to TensorBoard, `<logdir>/episodes.csv` and the console's progress line."""

  def __init__(self, config, writer):
    self._config = config
    self._writer = writer
    self._recent = collections.defaultdict(lambda: collections.deque(maxlen=100))
    path = os.path.join(config.logdir, 'episodes.csv')
    new = not os.path.exists(path)
    self._csv_file = open(path, 'a', newline='')  # pylint: disable=consider-using-with
    self._csv = csv.writer(self._csv_file)
    if new:
      self._csv.writerow(['frames', 'seconds', 'level', 'episode_return', 'episode_frames'])
    self._start = time.monotonic()
    self._last_report = (self._start, None)
    self._last_seen = {}  # Actor index -> when its last unroll was trained on.
    self._silent = set()

  def actors(self, batch):
    """Notes which actors sent the batch's unrolls, and logs those that come back."""
    now = time.monotonic()
    for actor in np.unique(np.asarray(batch.actor)).tolist():
      if actor in self._silent:
        self._silent.discard(actor)
        logging.info('Actor %d is sending unrolls again.', actor)
      self._last_seen[actor] = now

  def _check_silent_actors(self, now):
    limit = 10 * self._config.summary_secs
    for actor, seen in self._last_seen.items():
      if actor not in self._silent and now - seen > limit:
        self._silent.add(actor)
        logging.warning('Actor %d has sent nothing for %.0f s; training goes on with the others.',
                        actor, now - seen)

  def episodes(self, batch, frames):
    """Records the episodes that ended in a batch (those marked done after its first step)."""
    # A zero length marks the start after a replaced environment process, not an episode.
    done = (np.asarray(batch.env_outputs.done)[:, 1:] &
            (np.asarray(batch.env_outputs.info.episode_step)[:, 1:] > 0))
    if not done.any():
      return
    returns = np.asarray(batch.env_outputs.info.episode_return)[:, 1:][done]
    lengths = np.asarray(batch.env_outputs.info.episode_step)[:, 1:][done]
    levels = np.repeat(np.asarray(batch.level_name), done.sum(axis=1))
    seconds = time.monotonic() - self._start
    with self._writer.as_default(step=frames):
      for level, episode_return, length in zip(levels, returns, lengths):
        level = level.decode('utf-8')
        self._recent[level].append(float(episode_return))
        self._csv.writerow([frames, f'{seconds:.1f}', level, float(episode_return), int(length)])
        tf.summary.scalar(f'{level}/episode_return', episode_return)
        tf.summary.scalar(f'{level}/episode_frames', length)
    self._csv_file.flush()

  def report(self, frames, steps, terms, extra=''):
    """Summaries of the loss terms and rates, and a progress line, every `summary_secs`."""
    now = time.monotonic()
    last_time, last_frames = self._last_report
    if last_frames is not None and now - last_time < self._config.summary_secs:
      return
    self._last_report = (now, frames)
    self._check_silent_actors(now)
    fps = 0. if last_frames is None else (frames - last_frames) / (now - last_time)
    with self._writer.as_default(step=frames):
      for name, value in terms.items():
        tf.summary.scalar(f'learner/{name}', value)
      tf.summary.scalar('learner/frames_per_second', fps)
      score = self.human_normalized_score()
      if score is not None:
        tf.summary.scalar(f'{self._config.level_name}/human_normalized_score', score)
    returns = ', '.join(f'{level} {np.mean(r):.2f}' for level, r in sorted(self._recent.items())[:4])
    logging.info('frames %d (%.1f%%) | %.0f frames/s | steps %d | loss %.3f | mean return (last 100): '
                 '%s%s%s', frames, 100. * frames / self._config.total_environment_frames, fps, steps,
                 float(terms['total_loss']), returns or 'no episode yet',
                 '' if score is None else f' | human-normalised {score:.1f}%', extra)

  def human_normalized_score(self):
    """The running DMLab-30 (mean, capped) or Atari-57 (median) score, once every level has played."""
    suite = {'dmlab30': dmlab30, 'atari57': atari57}.get(self._config.level_name)
    if suite is None:
      return None
    returns = {level: list(r) for level, r in self._recent.items()}
    try:
      if suite is dmlab30:
        return dmlab30.compute_human_normalized_score(returns, per_level_cap=100)
      return atari57.compute_human_normalized_score(returns, aggregate='median')
    except ValueError:
      return None  # Not every level has finished an episode yet.

  def close(self):
    self._csv_file.close()


# --- Train and test ---------------------------------------------------------------------------------

class Stop:
  """Set on SIGINT/SIGTERM, at the frame budget, or when a thread fails (its error is kept)."""

  def __init__(self):
    self.event = threading.Event()
    self.error = None

  def fail(self, error):
    if self.error is None:
      self.error = error
    self.event.set()


def handle_signals(stop):
  def handler(signum, unused_frame):
    logging.info('Received signal %d: stopping after the current step.', signum)
    stop.event.set()
  previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
  return lambda: [signal.signal(s, h) for s, h in previous.items()]


# The actors whose environments one process hosts, in order, and that process.
ProcessGroup = collections.namedtuple('ProcessGroup', 'actor_ids process')


def start_environments(config, actor_ids, is_test, env_factory, levels=None):
  """ProcessGroups of `envs_per_process` actors; actor i plays its level with seed `seed + i`."""
  levels = levels or actor_levels(config)
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


def _actors(groups, num_threads, levels, inference, initial_state, num_actions):
  """Deals the process groups out to `num_threads` Actors (fewer if there are fewer groups)."""
  actors = []
  for i in range(min(num_threads, len(groups))):
    mine = groups[i::num_threads]
    ids = [j for group in mine for j in group.actor_ids]
    actors.append(Actor([levels[j] for j in ids], ids, [group.process for group in mine], inference,
                        initial_state, num_actions))
  return actors


def close_environments(groups):
  for group in groups:
    group.process.close()


def make_checkpoint(agent, learner=None, **tracked):
  """Weights; with a learner also its optimiser state and frame counter, and any `tracked` objects."""
  if learner is None:
    return tf.train.Checkpoint(agent=agent)
  return tf.train.Checkpoint(agent=agent, optimizer=learner.optimizer,
                             num_env_frames=learner.num_env_frames, **tracked)


_CONTAINER = 'impala'


def make_trajectory_queue(example, capacity, device):
  """The bounded queue of unrolls on the learner's device; processes share it by its name."""
  flat = tree.flatten(example)
  dtypes = [_spec(x).dtype for x in flat]
  shapes = [x.shape for x in flat]
  with tf.device(device):
    # A fixed resource container: under connect_to_cluster the default one is per eager context.
    ref = tf.raw_ops.FIFOQueueV2(component_types=dtypes, shapes=shapes, capacity=capacity,
                                 container=_CONTAINER, shared_name='trajectories')
  return tf.queue.QueueBase(dtypes, shapes, None, ref)


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
    actors = _actors(groups, config.actor_threads, actor_levels(config), self.inference,
                     actor_initial_state(agent), env_spec.num_actions)
    self.threads = [threading.Thread(target=self._run, args=(actor,), name=f'actor_{i}', daemon=True)
                    for i, actor in enumerate(actors)]
    for thread in self.threads:
      thread.start()

  def _run(self, actor):
    try:
      while not self._stop.event.is_set():
        seen = self._learner_steps
        self._enqueue(tree.flatten(actor.unroll(self._unroll_length)))
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


def learner_setup(config, env_spec, device, **tracked):
  """The agent, the learner and its checkpoint manager, restored from the logdir when it has one.

  `tracked`: more objects to checkpoint (a Q-learning agent's target network).
  """
  with tf.device(device):
    agent = build_agent(config, env_spec)
    learner = Learner(agent, config)
  checkpoint = make_checkpoint(agent, learner, **tracked)
  manager = tf.train.CheckpointManager(checkpoint, config.logdir, max_to_keep=3)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint).assert_consumed()
    logging.info('Restored %s at %d frames.', manager.latest_checkpoint,
                 int(learner.num_env_frames.numpy()))
  return agent, learner, manager


def run_learner(config, learner, example, trajectory_queue, manager, stop, device,
                after_step=lambda: None, describe=lambda: '', stats=None, before_close=lambda: None):
  """Trains on batches from the queue until the frame budget or a stop; checkpoints at exit.

  `stats`, a dict if given, receives timings for benchmarks: steps, frames and times from the first
  batch on, the seconds spent in training steps, and the seconds the learner waited for data.
  """
  stats = {} if stats is None else stats
  train_step = tf.function(learner.train_step,
                           input_signature=[batch_signature(example, config.batch_size)])
  prefetcher = Prefetcher(trajectory_queue, example, config.batch_size, device)
  writer = tf.summary.create_file_writer(config.logdir)
  monitor = Monitor(config, writer)
  last_checkpoint = time.monotonic()
  steps = 0
  try:
    while not stop.event.is_set() and (
        int(learner.num_env_frames.numpy()) < config.total_environment_frames):
      batch = prefetcher.get(stop.event)
      if batch is None:
        break
      step_start = time.monotonic()
      with tf.device(device):
        terms = train_step(batch)
      frames = int(learner.num_env_frames.numpy())  # Waits for the step to finish.
      if steps == 0:  # Timings start after the first step, which traces the training function.
        stats.update(first_frames=frames, first_time=time.monotonic(), train_seconds=0.,
                     wait_seconds_at_first=prefetcher.wait_seconds)
      else:
        stats['train_seconds'] += time.monotonic() - step_start
      after_step()
      steps += 1
      monitor.actors(batch)
      monitor.episodes(batch, frames)
      monitor.report(frames, steps, terms,
                     extra=f'{describe()} | learner waited {prefetcher.wait_seconds:.0f}s')
      if time.monotonic() - last_checkpoint > config.checkpoint_secs:
        manager.save(checkpoint_number=frames)
        last_checkpoint = time.monotonic()
  finally:
    stats.update(steps=steps, frames=int(learner.num_env_frames.numpy()), last_time=time.monotonic(),
                 learner_wait_seconds=prefetcher.wait_seconds - stats.get('wait_seconds_at_first', 0.))
    stop.event.set()
    before_close()
    trajectory_queue.close(cancel_pending_enqueues=True)
    prefetcher.close()
    frames = int(learner.num_env_frames.numpy())
    manager.save(checkpoint_number=frames)
    logging.info('Saved checkpoint at %d frames to %s.', frames, config.logdir)
    monitor.close()
    writer.close()
  return frames


def train(config, env_factory=environments.create_environment, stats=None):
  """Trains on this machine until `total_environment_frames`, a signal, or a failure.

  `stats`: see run_learner; also gets the batched inference's mean batch size, the seconds actors
  spent waiting for it, the number of actor threads and how long they ran.
  """
  if config.agent in ASYNC_AGENTS:
    from baselines import asynchronous  # pylint: disable=g-import-not-at-top; it builds on this module.
    return asynchronous.train(config, env_factory, stats)
  stats = {} if stats is None else stats
  os.makedirs(config.logdir, exist_ok=True)
  groups = start_environments(config, range(config.num_actors), is_test=False,
                               env_factory=env_factory)
  stop = Stop()
  restore_signals = handle_signals(stop)
  pool = None
  try:
    env_spec = groups[0].process.spec
    device = learner_device()
    agent, learner, manager = learner_setup(config, env_spec, device)
    example = unroll_example(agent, env_spec, config.unroll_length)
    trajectory_queue = make_trajectory_queue(example, config.batch_size, device)
    synchronous = config.agent == 'a2c'
    pool = ActorPool(config, groups, agent, env_spec, trajectory_queue.enqueue_many, stop,
                     synchronous=synchronous)
    pool_start = time.monotonic()
    frames = run_learner(config, learner, example, trajectory_queue, manager, stop, device,
                         after_step=pool.learner_stepped if synchronous else lambda: None,
                         describe=lambda: f' | batching {pool.inference.mean_batch_size:.1f}',
                         stats=stats)
  finally:
    if pool is not None:
      pool.close()
      stats.update(inference_mean_batch=pool.inference.mean_batch_size,
                   inference_wait_seconds=pool.inference.wait_seconds,
                   actor_threads=len(pool.threads), actor_seconds=time.monotonic() - pool_start)
    restore_signals()
    close_environments(groups)
  if stop.error is not None:
    raise stop.error
  return frames


# --- Across processes and machines, over TensorFlow's own distributed runtime -----------------------
#
# The learner's server hosts the trajectory queue and a copy of the weights, both on its CPU and found
# by name: actor tasks build ops on '/job:learner' that name the same shared resources. Only the
# learner is in the learner's cluster spec; each actor task joins as a job of its own, so actors come
# and go without the learner knowing them in advance.

SHARED_DEVICE = '/job:learner/replica:0/task:0/device:CPU:0'
_RUNNING, _FINISHED = 1, 2


class SharedWeights:
  """The learner's weights (and whether it runs) as named variables on the learner's CPU."""

  def __init__(self, variables):
    self._variables = list(variables)
    with tf.device(SHARED_DEVICE):
      self._handles = [tf.raw_ops.VarHandleOp(dtype=v.dtype, shape=v.shape, container=_CONTAINER,
                                              shared_name=f'weights/{i}/{v.name}')
                       for i, v in enumerate(self._variables)]
      self._state = tf.raw_ops.VarHandleOp(dtype=tf.int32, shape=[], container=_CONTAINER,
                                           shared_name='run_state')

  def publish(self):
    """Learner: copies its weights to the shared ones."""
    with tf.device(SHARED_DEVICE):
      for handle, variable in zip(self._handles, self._variables):
        tf.raw_ops.AssignVariableOp(resource=handle, value=variable)

  def fetch(self):
    """Actor: copies the shared weights into its agent."""
    with tf.device(SHARED_DEVICE):
      values = [tf.raw_ops.ReadVariableOp(resource=h, dtype=v.dtype)
                for h, v in zip(self._handles, self._variables)]
    for variable, value in zip(self._variables, values):
      variable.assign(value)

  def set_state(self, state):
    with tf.device(SHARED_DEVICE):
      tf.raw_ops.AssignVariableOp(resource=self._state, value=tf.constant(state, tf.int32))

  def state(self):
    """_RUNNING or _FINISHED; 0 before the learner has published its weights."""
    with tf.device(SHARED_DEVICE):
      try:
        return int(tf.raw_ops.ReadVariableOp(resource=self._state, dtype=tf.int32).numpy())
      except tf.errors.FailedPreconditionError:
        return 0  # Not created yet.


class LearnerUnreachableError(RuntimeError):
  pass


def wait_for_learner(address, timeout):
  """Waits until the learner's port accepts connections; LearnerUnreachableError after `timeout` s."""
  host, _, port = address.rpartition(':')
  deadline = time.monotonic() + timeout
  while True:
    try:
      with socket.create_connection((host, int(port)), timeout=2):
        return
    except OSError:
      if time.monotonic() > deadline:
        raise LearnerUnreachableError(
            f'no learner answered at --learner_address={address} within {timeout:g} s '
            '(--learner_timeout_secs): start it first (--job_name=learner --task=0) or check the '
            'address') from None
      time.sleep(1)


def _free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def run_learner_task(config):
  """The learner process: serves the queue and the weights, trains, checkpoints."""
  os.makedirs(config.logdir, exist_ok=True)
  env_spec = environments.environment_spec(actor_levels(config)[0], config.env_config)
  tf.config.experimental_connect_to_cluster(
      tf.train.ClusterSpec({'learner': [config.learner_address]}), job_name='learner', task_index=0)
  device = learner_device()
  agent, learner, manager = learner_setup(config, env_spec, device)
  example = unroll_example(agent, env_spec, config.unroll_length)
  trajectory_queue = make_trajectory_queue(example, config.batch_size, SHARED_DEVICE)
  weights = SharedWeights(agent.trainable_variables)
  weights.publish()
  weights.set_state(_RUNNING)
  logging.info('Learner serving at %s (TensorFlow servers listen on every interface: keep the '
               'cluster on a private network).', config.learner_address)
  stop = Stop()
  restore_signals = handle_signals(stop)
  try:
    def announce_the_end():
      if int(learner.num_env_frames.numpy()) >= config.total_environment_frames:
        weights.set_state(_FINISHED)  # Before the queue closes, so actors take it for the end.

    frames = run_learner(config, learner, example, trajectory_queue, manager, stop, device,
                         after_step=weights.publish, before_close=announce_the_end)
  finally:
    restore_signals()
  if frames >= config.total_environment_frames:
    time.sleep(_ACTOR_POLL_SECS * 2)  # Serve the state a little longer, for actors to read it.
  return frames


_ACTOR_POLL_SECS = 2.


def run_actor_task(config, env_factory=environments.create_environment):
  """An actor process: plays its actors with the learner's latest weights, feeding its queue.

  If the learner goes away, this process waits for it to come back (up to learner_timeout_secs) and
  restarts itself to reconnect: TensorFlow's remote contexts do not survive a restarted server.
  """
  actor_ids = list(range(config.task, config.num_actors, config.num_actor_tasks))
  wait_for_learner(config.learner_address, config.learner_timeout_secs)
  job = f'actor_{config.task}'
  address = config.actor_address or f'localhost:{_free_port()}'
  tf.config.experimental_connect_to_cluster(
      tf.train.ClusterSpec({'learner': [config.learner_address], job: [address]}),
      job_name=job, task_index=0)
  groups = start_environments(config, actor_ids, is_test=False, env_factory=env_factory)
  stop = Stop()
  restore_signals = handle_signals(stop)
  pool = None
  finished = False
  try:
    env_spec = groups[0].process.spec
    agent = build_agent(config, env_spec)
    trajectory_queue = make_trajectory_queue(
        unroll_example(agent, env_spec, config.unroll_length), config.batch_size, SHARED_DEVICE)
    weights = SharedWeights(agent.trainable_variables)
    deadline = time.monotonic() + config.learner_timeout_secs
    while weights.state() == 0:  # Connected before the learner published its weights.
      if time.monotonic() > deadline:
        raise LearnerUnreachableError('the learner never published its weights')
      time.sleep(1)
    weights.fetch()
    # Remote ops from several threads at once deadlocked in TF 2.21's eager runtime: actor threads
    # hand their unrolls over, and this thread alone talks to the learner.
    unrolls = py_queue.Queue(maxsize=1)

    def hand_over(flat):
      while not stop.event.is_set():
        try:
          return unrolls.put(flat, timeout=0.5)
        except py_queue.Full:
          pass

    pool = ActorPool(config, groups, agent, env_spec, hand_over, stop)
    logging.info('Actor task %d plays actors %s with the learner at %s.', config.task, actor_ids,
                 config.learner_address)
    last_poll = time.monotonic()
    while not stop.event.is_set():
      try:
        trajectory_queue.enqueue_many(unrolls.get(timeout=_ACTOR_POLL_SECS))
        weights.fetch()  # Every unroll starts with the learner's latest weights.
      except py_queue.Empty:
        pass
      if time.monotonic() - last_poll > _ACTOR_POLL_SECS:
        last_poll = time.monotonic()
        finished = weights.state() == _FINISHED
        if finished:
          stop.event.set()
  except (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.InternalError,
          tf.errors.CancelledError) as e:
    stop.fail(e)
    if isinstance(e, tf.errors.CancelledError):  # The learner closed its queue: has it finished?
      try:
        finished = weights.state() == _FINISHED
      except tf.errors.OpError:
        pass
  finally:
    if pool is not None:
      pool.close()
    restore_signals()
    close_environments(groups)
  if finished:
    logging.info('The learner has finished: stopping.')
  if finished or stop.error is None:
    return
  if isinstance(stop.error, (tf.errors.OpError, dynamic_batching.BatcherClosedError)):
    logging.warning('Lost the learner (%s); reconnecting when it is back.',
                    str(stop.error).splitlines()[0][:200])
    wait_for_learner(config.learner_address, config.learner_timeout_secs)
    os.execv(sys.executable, [sys.executable] + sys.argv)
  raise stop.error


def run_local_cluster(config):
  """One learner and `num_actor_tasks` actor processes on this machine, supervised together."""
  passed = [a for a in sys.argv[1:] if not a.startswith(('--local_cluster', '--nolocal_cluster',
                                                          '--job_name', '--task'))]
  command = [sys.executable, os.path.abspath(__file__)] + passed
  learner = subprocess.Popen(command + ['--job_name=learner', '--task=0'])
  start_actor = lambda i: subprocess.Popen(command + ['--job_name=actor', f'--task={i}'])
  actors = [start_actor(i) for i in range(config.num_actor_tasks)]
  stopping = []

  def handler(signum, unused_frame):
    stopping.append(signum)
    learner.send_signal(signal.SIGINT)  # The learner writes its last checkpoint.
  previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    while learner.poll() is None:
      time.sleep(1)
      for i, actor in enumerate(actors):
        if actor.poll() is not None and actor.returncode != 0 and not stopping:
          logging.warning('Actor task %d exited with code %d: restarting it.', i, actor.returncode)
          actors[i] = start_actor(i)
  finally:
    for actor in actors:
      if actor.poll() is None:
        actor.send_signal(signal.SIGTERM)
    for actor in actors:
      try:
        actor.wait(30)
      except subprocess.TimeoutExpired:
        actor.kill()
    if learner.poll() is None:
      learner.send_signal(signal.SIGINT)
      learner.wait()
    for s, h in previous.items():
      signal.signal(s, h)
  return learner.returncode


def test(config, env_factory=environments.create_environment):
  """Plays `test_num_episodes` per level with the latest checkpoint; writes and prints the results."""
  levels = test_levels(config)
  groups = start_environments(config, range(len(levels)), is_test=True, env_factory=env_factory,
                               levels=levels)
  try:
    env_spec = groups[0].process.spec
    agent = build_agent(config, env_spec)
    latest = tf.train.latest_checkpoint(config.logdir)  # config_from_flags checked there is one.
    make_checkpoint(agent).restore(latest).expect_partial()
    frames = int(tf.train.load_variable(latest, 'num_env_frames/.ATTRIBUTES/VARIABLE_VALUE'))
    logging.info('Testing %s (%d frames) on %d level(s).', latest, frames, len(levels))

    inference = make_inference(agent, env_spec, len(levels), config.inference_timeout_ms)
    if config.agent in Q_AGENTS:
      from baselines import q_learning  # pylint: disable=g-import-not-at-top; it builds on this module.
      inference = q_learning.EpsilonGreedy(inference, lambda: q_learning.TEST_EPSILON,
                                           np.random.default_rng(config.seed))
    initial_state = actor_initial_state(agent)
    returns = {level: [] for level in levels}
    stop = Stop()

    def play(actor):
      group_levels = [level.decode('utf-8') for level in actor.level_names]
      try:
        while not stop.event.is_set() and any(
            len(returns[level]) < config.test_num_episodes for level in group_levels):
          _, env_output = actor.step()
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

    threads = [threading.Thread(target=play, args=(actor,), daemon=True) for actor in _actors(
        groups, config.actor_threads, levels, inference, initial_state, env_spec.num_actions)]
    for thread in threads:
      thread.start()
    for thread in threads:
      thread.join()
    inference.close()
    if stop.error is not None:
      raise stop.error
  finally:
    close_environments(groups)

  path = os.path.join(config.logdir, 'evaluation.json')
  flag_values = {name: FLAGS[name].value for name in sorted(_OWN_FLAGS)}
  results = evaluation.write_results(path, returns, config.level_name, metadata=dict(
      frames=frames, checkpoint=latest, flags=flag_values))
  evaluation.print_report(results, png_path=os.path.join(config.logdir, 'evaluation.png'))
  logging.info('Wrote %s.', path)
  return results


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    config = config_from_flags()
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  try:
    if config.local_cluster:
      sys.exit(run_local_cluster(config))
    elif config.mode == 'test':
      test(config)
    elif config.task == -1:
      logging.info('Learner device: %s.', learner_device())
      train(config)
    elif config.job_name == 'learner':
      logging.info('Learner device: %s.', learner_device())
      run_learner_task(config)
    else:
      run_actor_task(config)
  except LearnerUnreachableError as e:
    sys.exit(f'Error: {e}')


if __name__ == '__main__':
  app.run(main)
