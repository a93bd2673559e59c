"""The runtime's configuration: each of its settings declared once, as a field of `Config`, with its
flag's help (runtime/fields.py; PopArt's in runtime/popart.py, a class `Config` derives from);
`Configuration` derives the flags from the fields and checks the values.

The runtime knows no feature built on it. A feature (baselines/, pbt/) declares its own settings the
same way, in a frozen dataclass of `setting` fields, and decides or refuses values in a resolver;
the program's `Config` derives from the runtime's and the features' classes, and configuration.py
assembles it and their resolvers into the `Configuration` experiment.py runs with. A feature tells
the runtime what it needs in the runtime's own terms, through fields made with `decided`: no flag
sets those, the features' resolvers do (batched A2C's synchronous actors, a PBT member's
hyperparameter directives).

The flags are derived from the fields (`Configuration.define_flags`), so the two cannot drift apart.
`Configuration.build(**given)` turns the settings a user gave into a checked Config: the paper's
Atari values for the Atari settings not given, what a feature decides itself, and every value
checked, with a ValueError naming the flag before any work starts. Fields marked `run=True` shape
the network or the environment: a run records them in its logdir and later commands take them from
there (`runtime.run_config`).

Defaults are the original release's (DeepMind Lab settings).
"""
import dataclasses
import os

from absl import flags

import environments
import networks
from runtime import fields
from runtime import levels as levels_lib
from runtime import popart
from runtime import presets
from runtime import replay
from runtime import schedulers
import vtrace

# How settings are declared (runtime/fields.py), here too for the features that declare theirs.
setting, decided = fields.setting, fields.decided
POSITIVE, NON_NEGATIVE = fields.POSITIVE, fields.NON_NEGATIVE
UNIT_INTERVAL, PROPORTION = fields.UNIT_INTERVAL, fields.PROPORTION


@dataclasses.dataclass(frozen=True)
class Config(popart.Settings):
  """Everything the runtime is decided by; make one with `Configuration.build`, which checks it.
  PopArt's settings (runtime/popart.py) come first."""
  # The original's flags, names and defaults.
  logdir: str = setting('/tmp/agent', 'TensorFlow log directory.')
  mode: str = setting('train', 'Training or test mode.', choices=('train', 'test'))
  test_num_episodes: int = setting(10, 'Number of episodes per level (test mode).', check=POSITIVE)
  task: int = setting(-1, 'Task id. Use -1 for local training.')
  job_name: str = setting('learner', 'Job name. Ignored when task is -1.',
                          choices=('learner', 'actor'))
  learner_address: str = setting('localhost:8001',
                                 "The learner's TensorFlow server, host:port (distributed training).")
  actor_address: str = setting('', "This actor task's own server, host:port, reachable by the learner; "
                               "'' picks a free port on localhost.")
  num_actor_tasks: int = setting(0, 'Actor processes; actor task i plays actors i, i + N, ... 0: one '
                                 'per actor, as the original.')
  learner_timeout_secs: float = setting(
      600., "How long an actor task waits for a learner that is unreachable, whose host name does "
      'not resolve yet, or that has stopped before its frame budget, before it gives up.',
      check=POSITIVE)
  run_id: str = setting(
      '', "The run's identity, which an actor task checks when it joins the learner. Learner: '' "
      'keeps the one recorded in --logdir, or makes one for a new run. Actor task: the learner '
      "must have this one; '' joins whatever run the learner trains.")
  cluster: str = setting(
      'auto', "Where a cluster task's role and addresses come from (runtime/schedulers.py): 'flags' "
      "(--job_name, --task, --learner_address, --actor_address, --num_actor_tasks); 'tf_config' "
      "(the TF_CONFIG variable, as Kubernetes' TFJob sets it); 'slurm' (an srun job step: task 0 the "
      "learner, the others actors); 'indexed_job' (cluster/kubernetes/impala-indexed-job.yaml's "
      "pods); 'auto': tf_config when TF_CONFIG is set, else flags.",
      choices=schedulers.SOURCES)
  slurm_port_base: int = setting(
      8001, "--cluster=slurm, where Slurm reserves no ports: job j's learner listens on this + "
      '(j % 384) * 64, an actor task on 1 + its local task id above that.', check=POSITIVE)
  local_cluster: bool = setting(False, 'Start the learner and the actor tasks as processes on this '
                                'machine, restart actor tasks that die, and stop them all together.')
  total_environment_frames: int = setting(
      int(1e9), 'Total environment frames to train for (agent steps x action repeats).', check=POSITIVE)
  num_actors: int = setting(4, 'Number of actors.', check=POSITIVE)
  batch_size: int = setting(2, 'Batch size for training (unrolls).', check=POSITIVE)
  unroll_length: int = setting(100, 'Unroll length in agent steps.', check=POSITIVE)
  num_action_repeats: int = setting(4, 'Number of action repeats.', check=POSITIVE, run=True)
  seed: int = setting(1, 'Random seed: of the weights, and actor i plays with seed + i.')
  entropy_cost: float = setting(0.00025, 'Entropy cost/multiplier.', check=NON_NEGATIVE)
  baseline_cost: float = setting(.5, 'Baseline cost/multiplier.', check=NON_NEGATIVE)
  discounting: float = setting(.99, 'Discounting factor.', check=UNIT_INTERVAL)
  reward_clipping: str = setting(
      'abs_one', "Reward clipping in the loss: abs_one clips to [-1, 1]; soft_asymmetric is the "
      "original code's tanh squashing, soft_asymmetric_paper the paper's Figure D.1 one; none: the "
      'rewards as they are (--popart on Atari).',
      choices=('abs_one', 'soft_asymmetric', 'soft_asymmetric_paper', 'none'))
  dataset_path: str = setting('', 'Path to the dataset (psychlab levels need it).')
  exclude_levels: str = setting(
      '', 'DMLab-30 levels (comma-separated) --level_name=dmlab30 leaves out, for levels this '
      "machine cannot run; listed when the run starts, 'not run' in the report.")
  level_name: str = setting(
      'explore_goal_locations_small', "A DeepMind Lab level, 'dmlab30', 'atari/<game>' (an ale-py id "
      "such as atari/pong), 'atari57', 'synthetic/dmlab', 'synthetic/cue_<shift>_x<scale>' "
      "(environments/synthetic_cue.py), or levels with the same frames, comma-separated, as a "
      "suite: 'atari/pong,atari/breakout' (actor i plays level i mod N).", run=True)
  width: int = setting(96, 'Width of observation (DeepMind Lab).', check=POSITIVE, run=True)
  height: int = setting(72, 'Height of observation (DeepMind Lab).', check=POSITIVE, run=True)
  learning_rate: float = setting(0.00048, 'Learning rate.', check=POSITIVE)
  decay: float = setting(.99, 'RMSProp optimizer decay.', check=UNIT_INTERVAL)
  momentum: float = setting(0., 'RMSProp momentum.', check=NON_NEGATIVE)
  epsilon: float = setting(.1, 'RMSProp epsilon.', check=POSITIVE)
  # What the port adds.
  optimizer: str = setting(
      'rmsprop', "The learner's optimiser: RMSProp as the original (--decay, --momentum, --epsilon) "
      'or Adam (--adam_epsilon), as RLlib and SEED RL train V-trace agents.',
      choices=('rmsprop', 'adam'), run=True)
  adam_epsilon: float = setting(1e-8, 'Adam epsilon (--optimizer=adam).', check=POSITIVE)
  network: str = setting(
      'deep', "Torso: the 15-layer ResNet or the shallow CNN (the paper's), or the Nature DQN CNN.",
      choices=networks.NETWORKS, run=True)
  use_lstm: bool = setting(True, 'LSTM core; without it the agent is feed-forward.', run=True)
  he_init: bool = setting(False, "Torso weights start with variance 2/fan_in (He et al.) instead of "
                          "Sonnet's default, the original's (0.77/fan_in).", run=True)
  center_frames: bool = setting(
      False, "The torso reads frames scaled to [-0.5, 0.5] instead of the original's [0, 1]: a "
      'uniform background then adds little to each filter\'s response, and first-layer filters do '
      'not all die at once (Atari: learns Pong far faster).', run=True)
  torso_dtype: str = setting('float32', "The torso's arithmetic: float32 (the paper's), or bfloat16 "
                             'on float32 weights, faster on CPUs with AMX (docs/performance.md).',
                             choices=networks.TORSO_DTYPES, run=True)
  gradient_clip_norm: float = setting(0., 'Global gradient norm clipping; 0: none (the original).',
                                      check=NON_NEGATIVE)
  learner_replicas: int = setting(
      1, "Devices the learner splits each batch over, summing their gradients into one update (the "
      "paper's synchronous learners): GPUs when visible, else logical CPU devices.", check=POSITIVE)
  correction: str = setting('vtrace', "Off-policy correction (the paper's Table 2).",
                            choices=vtrace.CORRECTIONS)
  replay_proportion: float = setting(
      0., "Share of each batch's unrolls replayed from a FIFO buffer of past unrolls (the paper's "
      'experience replay, Table 2: 0.5); the rest are fresh. 0: no replay.', check=PROPORTION)
  replay_buffer_size: int = setting(10_000, 'Unrolls the replay buffer holds (the paper: 10,000).',
                                    check=NON_NEGATIVE)
  atari_full_action_space: bool = setting(
      False, 'All 18 Atari actions (atari57 always uses them).', run=True)
  max_episode_frames: int = setting(108_000, 'Atari episodes are cut off after this many frames.',
                                    check=POSITIVE)
  test_noop_max: int = setting(30, 'Atari test episodes start with 1 to this many no-ops.',
                               check=NON_NEGATIVE)
  train_noop_max: int = setting(
      0, 'Atari training games start with 1 to this many no-ops (0: none; every game then starts '
      'on the same frame, and an agent may not play the other phases of the frame count).',
      check=NON_NEGATIVE, run=True)
  checkpoint_secs: int = setting(600, 'Seconds between checkpoints (one is also written at exit).',
                                 check=POSITIVE)
  keep_checkpoint_every_n_hours: float = setting(
      0., 'Beside the last 3 checkpoints, keep one every this many hours of training for good, to '
      "look back at a run's earlier weights (tf.train.CheckpointManager's); 0: the last 3 only.",
      check=NON_NEGATIVE)
  summary_secs: int = setting(10, 'Seconds between summaries and progress lines.', check=POSITIVE)
  actor_threads: int = setting(4, 'Threads that drive the actors, each stepping its share of them '
                               'together (one inference request per step for the share).',
                               check=POSITIVE)
  inference_timeout_ms: float = setting(5., 'How long batched inference waits for more actors.',
                                        check=NON_NEGATIVE)
  envs_per_process: int = setting(
      1, 'Environments each environment process hosts, stepped one after another. 1, as the '
      'original: a process per actor. More costs less per step where steps are cheap (Atari) and '
      'cores few.', check=POSITIVE)
  dynamic_batching: bool = setting(
      True, "Batch the actor threads' inference together (IMPALA, --agent=a2c --a2c_sync=trajectory); "
      'without it each thread runs its own.')
  # Decided by the features built on the runtime, in its terms: no flag sets them.
  synchronous_actors: bool = decided(
      False, "The actors wait for each update, so that every unroll is played with the weights it "
      'trains (batched A2C).')
  hyperparameter_directives: bool = decided(
      False, 'The learner applies the hyperparameters a controller directs through files in its '
      'logdir (runtime.hyperparameters), and keeps those it applied when it resumes (a PBT '
      'member).')

  @property
  def frames_per_step(self):
    """Environment frames consumed by one learner step."""
    return self.unroll_length * self.batch_size * self.num_action_repeats

  @property
  def env_config(self):
    """What the environments read of the configuration."""
    return environments.EnvConfig(
        width=self.width, height=self.height, num_action_repeats=self.num_action_repeats,
        dataset_path=self.dataset_path, level_cache_dir=os.path.join(self.logdir, 'level_cache'),
        atari_full_action_space=self.atari_full_action_space,
        max_episode_frames=self.max_episode_frames, noop_max=self.test_noop_max,
        train_noop_max=self.train_noop_max)


class Configuration:
  """A Config class, its flags, and `build`, which makes a checked Config from the settings given.

  config_class: `Config`, or a frozen dataclass deriving from it that adds the fields (`setting`,
    `decided`) of features built on the runtime (configuration.py: the program's).
  atari_preset: (values) -> the paper's values an Atari level takes for the settings not given
    (`presets.atari_preset`: IMPALA's); a feature may choose others.
  resolvers: (values, given) -> None each, run in turn once the runtime's settings are checked
    (values: every setting, by flag name): a feature's, deciding what it decides itself and
    refusing, with a ValueError naming the flag, the settings it cannot run with.
  """

  def __init__(self, config_class=Config, atari_preset=presets.atari_preset, resolvers=()):
    self.config_class = config_class
    self.atari_preset = atari_preset
    self.resolvers = tuple(resolvers)
    self.fields = {field.name: field for field in dataclasses.fields(config_class)}
    self.run_settings = tuple(name for name, field in self.fields.items() if field.metadata['run'])

  def define_flags(self, flag_values=flags.FLAGS):
    """An absl flag for every `setting` field not yet defined, with the field's default and help."""
    for name, field in self.fields.items():
      meta = field.metadata
      if not meta['flag'] or name in flag_values:
        continue
      if meta['choices']:
        flags.DEFINE_enum(name, field.default, list(meta['choices']), meta['help'],
                          flag_values=flag_values)
      else:
        define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
                  str: flags.DEFINE_string}[field.type]
        define(name, field.default, meta['help'], flag_values=flag_values)

  def given_flags(self, flag_values=flags.FLAGS):
    """{name: value} of the settings given on the command line (or set by a flagsaver)."""
    return {name: flag_values[name].value for name in self.fields
            if name in flag_values and not flag_values[name].using_default_value}

  def with_cluster_settings(self, given):
    """`given` and the role and addresses TF_CONFIG or Slurm give this task (runtime.schedulers)."""
    value = lambda name: given.get(name, self.fields[name].default)
    return {**given, **schedulers.cluster_settings(given, value('cluster'), value('slurm_port_base'))}

  def check_values(self, values):
    """ValueError, naming the flag, for a value of `values` ({name: value}) its field's check refuses."""
    for name, value in values.items():
      check = self.fields[name].metadata['check']
      if check and not check[1](value):
        raise ValueError(f'--{name} {check[0]}, got {value}')

  def build(self, **given):
    """The checked Config of the settings `given`; ValueError, naming the flag, for a bad value.

    Settings not given take their defaults, or for Atari levels the paper's Atari values.
    """
    unknown = sorted(set(given) - set(self.fields))
    if unknown:
      raise ValueError(f'unknown settings {unknown}')
    values = {name: field.default for name, field in self.fields.items()}
    values.update(given)
    presets.apply(values, given, self.atari_preset(values))
    self.check_values(values)
    popart.check_settings(values, given)
    values['num_actor_tasks'] = values['num_actor_tasks'] or values['num_actors']
    _check_distributed(values)
    for resolve in self.resolvers:
      resolve(values, given)
    if values['batch_size'] % values['learner_replicas']:
      raise ValueError(f'--batch_size={values["batch_size"]} must divide evenly over '
                       f'--learner_replicas={values["learner_replicas"]}')
    replay.check_settings(values)
    config = self.config_class(**values)
    levels_lib.check(config)
    for level in set(levels_lib.actor_levels(config) + levels_lib.test_levels(config)):
      _check_level_name(level)
    levels_lib.check_same_spec(config)
    return config


def _check_distributed(values):
  if not 0 < values['num_actor_tasks'] <= values['num_actors']:
    raise ValueError(f'--num_actor_tasks must be in [1, --num_actors={values["num_actors"]}], '
                     f'got {values["num_actor_tasks"]}')
  for name in ('learner_address', 'actor_address'):  # Resolved when connecting, where it waits.
    if values[name]:
      schedulers.check_address(values[name], f'--{name}')
  if values['task'] == -1:
    return  # Training on this machine, or --local_cluster starting the tasks on this machine.
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

