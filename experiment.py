"""IMPALA: training and testing (the original release's experiment.py, in TensorFlow 2).

    python experiment.py --level_name=atari/pong --logdir=/tmp/agent/pong        # train
    python experiment.py --logdir=/tmp/agent/pong --mode=test                    # test

Train mode: `num_actors` actors play with the latest weights, each its own environment, run in
processes apart from the learner's (`envs_per_process` environments a process; 1, as the original,
by default). `actor_threads` threads drive the actors, and their inference is dynamically batched
across threads. Every `unroll_length` steps an actor puts its unroll (T + 1 steps, overlapping the
previous unroll by one, with the behaviour policy's outputs and the core state at its start) into a
bounded trajectory queue. The learner takes `batch_size` unrolls, one batch ahead of the one it
trains on (the StagingArea's role), and applies the V-trace actor-critic loss with RMSProp,
annealing the learning rate linearly to zero. The run records its configuration in
`<logdir>/config.json`.

Test mode restores the latest checkpoint, plays `test_num_episodes` episodes per level and writes
`<logdir>/evaluation.json` and its report (see `dmlab30/evaluation.py`); `--video_episodes` records
the first episodes of each level as video (video/). It, and a resumed run, take the settings that
shape the network and the environment from the run's config.json.

Flags keep the original's names and defaults (DeepMind Lab settings); each is declared, with its
checks, beside the code that reads it (runtime/config.py, baselines/settings.py, pbt/settings.py,
video/settings.py), and configuration.py assembles them. For `atari/*` and `atari57`, flags not given on the command
line take the paper's Atari values. `--agent` chooses a baseline of the paper instead of IMPALA
(baselines/); `--job_name` and `--task` run one task of a cluster (or TF_CONFIG, or Slurm with
`--cluster=slurm`, say which: runtime/schedulers.py; an actor task takes the run's settings from the
learner it joins), `--local_cluster` all of them on this machine;
`--pbt_population` trains a population with population-based training (pbt/).
The machinery lives in runtime/ (its docstring draws the data flow).
"""
import functools
import os
import signal
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from runtime import startup  # pylint: disable=g-import-not-at-top,wrong-import-position
GPUS = startup.import_tensorflow_quietly()  # A clean first screen; TensorFlow is imported below too.

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging

from baselines import asynchronous
from baselines import q_learning
from baselines import settings as baseline_settings
import configuration
import environments
from pbt import controller as pbt_controller
from pbt import population as pbt_population
from runtime import cluster
from runtime import evaluation
from runtime import learner as learner_lib
from runtime import learner_link
from runtime import levels as levels_lib
from runtime import local_cluster
from runtime import one_machine
from runtime import progress
from runtime import replicas
from runtime import supervision
from video import recorder as video_recorder

configuration.define_flags()


def train(config, env_factory=environments.create_environment, stats=None):
  """Trains on this machine: IMPALA and batched A2C with actors and a learner, A3C and the
  Q-learning methods with asynchronous actor-learner threads."""
  if config.agent in baseline_settings.ASYNC_AGENTS:
    return asynchronous.train(config, env_factory, stats)
  return one_machine.train(config, env_factory, stats)


def test(config, env_factory=environments.create_environment):
  """Test mode; the Q-learning agents act epsilon-greedily, as DQN's evaluations did. With
  --video_episodes it records episodes (video/)."""
  wrap = None
  if config.agent in baseline_settings.Q_AGENTS:
    wrap = lambda inference: q_learning.test_policy(inference, config.seed)
  return evaluation.test(config, env_factory, wrap_inference=wrap,
                         recorder=video_recorder.start(config))


def describe(config):
  """What a training run trains, in a line."""
  core = 'LSTM' if config.use_lstm else 'feed-forward'
  parts = [f'{config.network} {core} network', f'unroll {config.unroll_length}',
           f'batch {config.batch_size}', f'learning rate {config.learning_rate:g}',
           f'entropy cost {config.entropy_cost:g}']
  # What changes how fast Atari agents learn, named only when on (the original has them off).
  parts += [part for part, on in (('PopArt', config.popart),
                                  ('unclipped rewards', config.reward_clipping == 'none'),
                                  ('centred frames', config.center_frames),
                                  ('bfloat16 torso', config.torso_dtype == 'bfloat16'),
                                  (f'replay {config.replay_proportion:g}', config.replay_proportion),
                                  (f'1-{config.train_noop_max} no-op starts', config.train_noop_max))
            if on]
  parts += [f'{config.num_actors} actor{"s" * (config.num_actors != 1)}',
            f'{config.total_environment_frames:,} frames']
  return (f'--agent={config.agent} on {config.level_name}: {", ".join(parts)}. Progress: '
          f'{config.logdir}/learning_curve.png, episodes.csv, tensorboard --logdir {config.logdir}.')


def log_learner_device(config):
  if config.learner_replicas > 1:
    return  # runtime.replicas names its devices.
  logging.info('Learner device: %s%s.', learner_lib.learner_device(),
               '' if GPUS else ' (no GPU visible: the learner trains on the CPU)')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:  # A cluster task's role and addresses: flags, or TF_CONFIG or Slurm (runtime/schedulers.py).
    given = configuration.with_cluster_settings(configuration.given_flags())
  except ValueError as e:  # A bad setting: one line saying which and why, not the usage text.
    sys.exit(f'Error: {e}')
  # A PBT member or a --local_cluster task ends with the process that started it: a learner as on
  # Ctrl-C (its last checkpoint); an actor task, which keeps nothing, at once, as when an actor dies.
  supervision.end_with_parent(signal.SIGKILL if given.get('job_name') == 'actor' else signal.SIGINT)
  # Before TensorFlow starts: logical CPU devices for the learner's replicas when no GPU is visible.
  replicas.configure_devices(given.get('learner_replicas', 1))
  try:
    if given.get('mode') == 'test':  # A population's logdir: its fittest member, or --pbt_member.
      given = dict(given, logdir=pbt_population.test_logdir(given))
    if configuration.is_actor_task(given):
      # An actor task takes the run's settings from the learner it joins: here its own are checked.
      actor_task, config = configuration.actor_task(given), None
    else:
      config = configuration.resolve(given)
  except ValueError as e:  # A bad setting: one line saying which and why, not the usage text.
    sys.exit(f'Error: {e}')
  startup.spend_first_run_notice()  # After the devices (it starts TensorFlow's runtime) and the flags.
  try:
    if config is None:  # An actor task: its Config is made of the learner's settings once it joins.
      finished = cluster.run_actor_task(actor_task, join=functools.partial(configuration.join, given))
    elif config.pbt_population and config.mode == 'train':
      sys.exit(pbt_controller.run(config, given, program=os.path.abspath(__file__)))
    elif config.local_cluster:
      sys.exit(local_cluster.run_local_cluster(config, program=os.path.abspath(__file__)))
    else:
      for note in levels_lib.notes(config):
        logging.warning(note)
      finished = run_task(config)
  except cluster.WrongLearnerError as e:  # A learner of another run, or whose settings it contradicts.
    sys.exit(f'Error: {e}')
  except learner_link.LearnerUnreachableError as e:  # The learner may come back: a code to retry.
    print(f'Error: {e}', file=sys.stderr)
    sys.exit(cluster.EXIT_LEARNER_UNREACHABLE)
  except environments.EnvironmentProcessError as e:  # A level that cannot start, with its message.
    sys.exit(f'Error: {e}\n{levels_lib.START_FAILURE_HINT}')
  # Stopped by a signal before the end (a frame budget trained, the tests played): 128 + its number,
  # which schedulers retry (docs/cluster.md, "What stops what").
  if not finished and progress.stopping_signal() is not None:
    sys.exit(128 + progress.stopping_signal())


def run_task(config):
  """Test mode, training on this machine or a cluster's learner; returns whether it ran to its end."""
  if config.mode == 'test':
    test(config)
    return True
  if config.task == -1:
    logging.info('Training %s', describe(config))
    log_learner_device(config)
    return train(config) >= config.total_environment_frames
  log_learner_device(config)
  return cluster.run_learner_task(config) >= config.total_environment_frames


if __name__ == '__main__':
  app.run(main)
