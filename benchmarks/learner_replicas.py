"""The learner on one device and on several (--learner_replicas), and the whole pipeline: a GPU check.

    .venv/bin/python benchmarks/learner_replicas.py                  # on a GPU machine
    .venv/bin/python benchmarks/learner_replicas.py --replicas=2 --steps=2 --pong_seconds=30  # CPU

Prints one table:
  - learner steps/s and frames/s of the deep network (LSTM and instruction encoder) at the paper's
    batch 32 and unroll 100 on the synthetic DMLab-shaped level, on one device, then with the batch
    split over `--replicas` devices (default: every GPU visible; on a machine without GPUs, 2 logical
    CPU devices, which share the same cores: that run shows the path works, not a speed-up). The
    learner is timed alone, on a random batch already on its devices, after a step that traces it;
  - Pong's whole pipeline (actors, queue, prefetch, learner; the paper's Atari settings, make
    train's actor layout) in frames/s with every core of the machine, for `--pong_seconds`.
The paper reaches 30K frames/s with the deep network on one learner GPU and 210K with 8 (section
5.1); those figures need a GPU machine with TensorFlow to compare against.
"""
import os
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
import numpy as np
from runtime import startup  # pylint: disable=g-import-not-at-top,wrong-import-position
startup.import_tensorflow_quietly()  # TensorFlow's start-up notices filtered, as in experiment.py.
import tensorflow as tf
import tree

from benchmarks import training_run
import configuration
import environments
from runtime import learner as learner_lib
from runtime import prefetch
from runtime import replicas
from runtime import trajectories

flags.DEFINE_integer('replicas', 0, 'Replicas of the second learner row; 0: every GPU visible, or 2 '
                     'logical CPU devices without a GPU.')
flags.DEFINE_integer('steps', 5, 'Timed learner steps per row (after one that traces).')
flags.DEFINE_integer('batch', 32, 'Batch size of the learner rows (the paper: 32).')
flags.DEFINE_integer('unroll', 100, 'Unroll length of the learner rows (the paper: 100).')
flags.DEFINE_integer('pong_seconds', 60, 'Seconds of Pong training for the pipeline row; 0: none.')
FLAGS = flags.FLAGS


def learner_rate(num_replicas):
  """(steps/s, frames/s) of the deep learner alone with the batch over `num_replicas` devices."""
  config = configuration.build(level_name='synthetic/dmlab', network='deep', use_lstm=True,
                               batch_size=FLAGS.batch, unroll_length=FLAGS.unroll,
                               learner_replicas=num_replicas, logdir=tempfile.mkdtemp())
  spec = environments.environment_spec(config.level_name, config.env_config)
  strategy = replicas.make_strategy(num_replicas)
  _, learner, _ = learner_lib.learner_setup(config, spec, learner_lib.learner_device(), strategy)
  example = trajectories.unroll_example(learner.agent, spec, config.unroll_length)
  rng = np.random.default_rng(0)
  unrolls = tree.map_structure(
      lambda x: (np.full((config.batch_size,) + x.shape, b'go to the apple', object)
                 if x.dtype == object else
                 rng.integers(0, 2, (config.batch_size,) + x.shape).astype(x.dtype)), example)
  batch = prefetch.fresh_batch(unrolls)
  if strategy:
    step_input = replicas.distribute(strategy, tree.map_structure(tf.convert_to_tensor, batch))
  else:
    with tf.device(learner_lib.learner_device()):
      step_input = tree.map_structure(tf.identity, batch)
  step = learner.compiled_step(example, config.batch_size)
  step(step_input)['total_loss'].numpy()  # Traces.
  start = time.monotonic()
  for _ in range(FLAGS.steps):
    step(step_input)['total_loss'].numpy()
  seconds = time.monotonic() - start
  return FLAGS.steps / seconds, FLAGS.steps * config.frames_per_step / seconds


def pong_rate():
  with tempfile.TemporaryDirectory() as logdir:
    config = configuration.build(level_name='atari/pong', num_actors=128, actor_threads=4,
                                 envs_per_process=32, logdir=logdir, total_environment_frames=int(1e12),
                                 summary_secs=10 ** 6)
    stats = training_run.train_for(config, FLAGS.pong_seconds)
  _, frames_per_second, steps_per_second = training_run.timed_rates(stats, 'pong', FLAGS.pong_seconds)
  return steps_per_second, frames_per_second


def main(argv):
  del argv
  gpus = tf.config.list_physical_devices('GPU')
  many = FLAGS.replicas or (len(gpus) if gpus else 2)
  replicas.configure_devices(many)  # Before TensorFlow starts.
  kind = f'{len(gpus)} GPU(s)' if gpus else 'no GPU: logical CPU devices'
  rows = [(f'learner, deep, batch {FLAGS.batch} x unroll {FLAGS.unroll}, 1 replica',
           *learner_rate(1))]
  if many > 1:
    rows.append((f'learner, deep, batch {FLAGS.batch} x unroll {FLAGS.unroll}, {many} replicas',
                 *learner_rate(many)))
  if FLAGS.pong_seconds:
    rows.append((f'Pong pipeline, shallow, {os.cpu_count()} cores, 1 learner device', *pong_rate()))
  print(f'\nLearner devices: {kind}; {os.cpu_count()} CPU cores.')
  print(f'{"":<58}{"steps/s":>10}{"frames/s":>12}')
  for name, steps, frames in rows:
    print(f'{name:<58}{steps:>10.3f}{frames:>12.0f}')
  print('The paper: 30K frames/s with the deep network on one learner GPU, 210K on 8.')


if __name__ == '__main__':
  app.run(main)
