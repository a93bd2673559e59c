"""Throughput of the IMPALA networks: actor inference and learner train steps.

    .venv/bin/python benchmarks/network_bench.py            # paper sizes
    .venv/bin/python benchmarks/network_bench.py --quick    # smoke run: tiny unrolls, few iterations

Actor rows time `agent.step` in a tf.function at batch 1 and 32, fetching the actions each step as an
actor must. Learner rows time one update (forward unroll over T + 1 steps as the learner bootstraps
from the last one, backward, RMSProp apply) and report agent steps per second, T * B per update. The
loss has the IMPALA shape (policy gradient, baseline, entropy) with fixed stand-in advantages and
targets: V-trace itself is cheap next to the network and lives elsewhere.
"""
import argparse
import os
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=g-import-not-at-top
from runtime import startup  # pylint: disable=g-import-not-at-top,wrong-import-position
startup.import_tensorflow_quietly()  # TensorFlow's start-up notices filtered, as in experiment.py.
import sonnet as snt
import tensorflow as tf

import networks
from environments import StepOutput

# name, network, frame shape, actions, use_lstm, use_instruction, T, B (paper settings).
CONFIGS = [
    ('shallow/atari feed-forward', 'shallow', (84, 84, 4), 6, False, False, 20, 32),
    ('shallow/atari lstm', 'shallow', (84, 84, 4), 6, True, False, 20, 32),
    ('deep/dmlab lstm+instruction', 'deep', (72, 96, 3), 9, True, True, 100, 32),
]
INSTRUCTIONS = ['pick the red balloon', 'go to the blue room', 'collect the apples', '']


def fake_inputs(rng, leading, frame_shape, num_actions, use_instruction):
  observation = {'frame': tf.constant(
      rng.integers(0, 256, size=tuple(leading) + frame_shape, dtype=np.uint8))}
  if use_instruction:
    observation['instruction'] = tf.constant(rng.choice(INSTRUCTIONS, size=leading))
  env_output = StepOutput(
      reward=tf.constant(rng.normal(size=leading), tf.float32), info=(),
      done=tf.constant(rng.random(leading) < 0.01), observation=observation)
  return tf.constant(rng.integers(0, num_actions, size=leading), tf.int32), env_output


def timed(fn, warmup, iterations):
  """Seconds per call of fn after `warmup` calls (the first of which traces)."""
  for _ in range(warmup):
    fn()
  start = time.perf_counter()
  for _ in range(iterations):
    fn()
  return (time.perf_counter() - start) / iterations


def actor_steps_per_second(agent, step, rng, config, batch_size, args):
  _, _, frame_shape, num_actions, _, use_instruction, _, _ = config
  last_action, env_output = fake_inputs(rng, [batch_size], frame_shape, num_actions,
                                        use_instruction)
  state = [agent.initial_state(batch_size)]

  def one_step():
    out, state[0] = step(last_action, env_output, state[0])
    out.action.numpy()  # An actor needs the action before it can act.

  return batch_size / timed(one_step, args.warmup, args.actor_iterations)


def learner_steps_per_second(agent, rng, config, unroll_length, batch_size, args):
  _, _, frame_shape, num_actions, _, use_instruction, _, _ = config
  last_actions, env_outputs = fake_inputs(rng, [unroll_length + 1, batch_size], frame_shape,
                                          num_actions, use_instruction)
  advantages = tf.constant(rng.normal(size=(unroll_length, batch_size)), tf.float32)
  targets = tf.constant(rng.normal(size=(unroll_length, batch_size)), tf.float32)
  initial_state = agent.initial_state(batch_size)
  optimizer = snt.optimizers.RMSProp(learning_rate=1e-4, decay=0.99, momentum=0., epsilon=0.1)

  @tf.function
  def train_step():
    with tf.GradientTape() as tape:
      outs, _ = agent.unroll(last_actions, env_outputs, initial_state)
      logits = outs.policy_logits[:-1]
      log_pi = tf.nn.log_softmax(logits)
      chosen = tf.gather(log_pi, last_actions[1:], batch_dims=2)
      entropy = -tf.reduce_sum(tf.nn.softmax(logits) * log_pi, axis=-1)
      loss = tf.reduce_sum(-chosen * advantages
                           + 0.25 * tf.square(targets - outs.baseline[:-1])
                           - 0.01 * entropy)
    variables = agent.trainable_variables
    optimizer.apply(tape.gradient(loss, variables), variables)
    return loss

  return unroll_length * batch_size / timed(lambda: train_step().numpy(), args.warmup,
                                            args.learner_iterations)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--quick', action='store_true',
                      help='smoke run: T=4, B=4 learner unrolls and 2 timed iterations')
  parser.add_argument('--actor_iterations', type=int, default=200)
  parser.add_argument('--learner_iterations', type=int, default=5)
  parser.add_argument('--warmup', type=int, default=2, help='untimed calls, tracing included')
  parser.add_argument('--threads', type=int, default=0,
                      help='TensorFlow intra- and inter-op threads; 0 leaves TF to choose')
  args = parser.parse_args(argv)
  if args.quick:
    args.actor_iterations, args.learner_iterations, args.warmup = 2, 2, 1
  if args.threads:
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

  # Every agent's `step` traces twice (two batch sizes) and TF counts traces across agents,
  # so it would warn of excessive retracing; the traces are deliberate and untimed.
  tf.get_logger().setLevel('ERROR')
  rng = np.random.default_rng(0)
  rows = []
  for config in CONFIGS:
    name, network, frame_shape, num_actions, use_lstm, use_instruction, t, b = config
    if args.quick:
      t, b = 4, 4
    tf.random.set_seed(0)
    agent = networks.build_agent(network, num_actions, use_lstm, use_instruction)
    networks.initialize(agent, frame_shape)
    step = tf.function(agent.step)  # Each batch size traces once.
    actor_1 = actor_steps_per_second(agent, step, rng, config, 1, args)
    actor_32 = actor_steps_per_second(agent, step, rng, config, 32, args)
    learner = learner_steps_per_second(agent, rng, config, t, b, args)
    rows.append((name, networks.num_parameters(agent), actor_1, actor_32, f'{t}x{b}', learner))
    print(f'done: {name}', file=sys.stderr, flush=True)

  header = ('network', 'params', 'actor B=1 steps/s', 'actor B=32 steps/s', 'learner TxB',
            'learner steps/s')
  print(f'{header[0]:<30}{header[1]:>11}{header[2]:>20}{header[3]:>20}{header[4]:>13}'
        f'{header[5]:>17}')
  for name, params, actor_1, actor_32, unroll, learner in rows:
    print(f'{name:<30}{params:>11,}{actor_1:>20,.0f}{actor_32:>20,.0f}{unroll:>13}'
          f'{learner:>17,.0f}')
  if args.quick:
    print('(--quick: smoke run, numbers are not measurements)')


if __name__ == '__main__':
  main()
