"""The learner's step and batched inference under TensorFlow's compiler settings, side by side.

    .venv/bin/python benchmarks/learner_step.py [--rounds=2] [--steps=3] [--record]

Each variant runs in a fresh process (Grappler's and XLA's settings are per process), the variants
interleaved round by round so that the machine's drift falls on all of them alike. A variant times the
real `Learner.train_step` (V-trace loss, RMSProp, on a batch of unrolls shaped as the configuration's)
and the batched `agent.step` actors call, in CPU microseconds per agent step (process time, all
threads) and wall milliseconds per call, after a traced and a warm-up call. Variants:
  remapper on:  TensorFlow's default Grappler passes, the project's.
  remapper off: Grappler's remapper turned off.
  fused skip:   the deep torso's residual blocks as first written, the second conv's bias added
                before the skip addition, which oneDNN's remapper fuses and then fails on, logging
                an error (networks/torsos.py, ResidualBlock); for the shallow network, the same
                as remapper on.
  fused last:   as first written only in each section's last block, whose sum has one consumer
                (no error either).
  xla:          the learner's step and inference compiled with XLA (tf.function(jit_compile=True)),
                the unrolls' level names (strings, which XLA cannot take) replaced by numbers; the
                instruction encoder's string ops keep XLA from DeepMind Lab's agent (the variant fails
                there, and says so).
  threads 2:    TensorFlow's intra- and inter-op thread pools sized to 2 (this machine's cores),
                instead of TensorFlow's own choice.
  bfloat16 torso: --torso_dtype=bfloat16, the torso computing in bfloat16 on float32 weights.
--record writes the table to benchmarks/results/learner_step.txt.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {  # name: configuration.build values (the shapes of benchmarks/throughput.py's runs).
    'lab_deep': dict(level_name='synthetic/dmlab', network='deep', use_lstm=True, unroll_length=100,
                     batch_size=32, num_actors=16),
    'pong': dict(level_name='atari/pong', num_actors=128),
}
VARIANTS = {  # name: (Grappler options, XLA, thread pool size or 0 for TensorFlow's choice,
              #        the residual blocks written as first (fused_skip_call) whose names end so,
              #        or None for none, configuration values)
    'remapper on': ({'remapping': True}, False, 0, None, {}),
    'remapper off': ({'remapping': False}, False, 0, None, {}),
    'fused skip': ({'remapping': True}, False, 0, '', {}),
    'fused last': ({'remapping': True}, False, 0, 'residual_1', {}),
    'xla': ({}, True, 0, None, {}),
    'threads 2': ({}, False, 2, None, {}),
    'bfloat16 torso': ({}, False, 0, None, {'torso_dtype': 'bfloat16'}),
}


def fused_skip_call(block, x):
  """networks.torsos.ResidualBlock.__call__ as first written: the second conv with its bias, then
  the skip addition, which oneDNN's remapper fuses and then fails on (also tests/test_networks.py)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top,import-outside-toplevel
  block._initialize(x)  # pylint: disable=protected-access
  y = block._conv1(tf.nn.relu(x))  # pylint: disable=protected-access
  return x + tf.nn.bias_add(block._conv2(tf.nn.relu(y)), block._conv2_b)  # pylint: disable=protected-access


def child(config_name, variant, steps):
  """Runs in the fresh process: times one variant, prints a JSON line."""
  sys.path.insert(0, ROOT)
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  options, xla, threads, fused_skip, values = VARIANTS[variant]
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tree  # pylint: disable=g-import-not-at-top
  if threads:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
  from absl import flags  # pylint: disable=g-import-not-at-top
  import configuration  # pylint: disable=g-import-not-at-top
  import environments  # pylint: disable=g-import-not-at-top
  from networks import torsos  # pylint: disable=g-import-not-at-top
  from runtime import agents, learner as learner_lib, prefetch, trajectories  # pylint: disable=g-import-not-at-top
  if fused_skip is not None:
    project_call = torsos.ResidualBlock.__call__
    torsos.ResidualBlock.__call__ = lambda block, x: (
        fused_skip_call if block.name.endswith(fused_skip) else project_call)(block, x)
  configuration.define_flags()
  flags.FLAGS(['learner_step'])
  config = configuration.build(logdir='/tmp/learner_step', **CONFIGS[config_name], **values)
  spec = environments.environment_spec(config.level_name, config.env_config)
  if options:
    tf.config.optimizer.set_experimental_options(options)
  agent = agents.build_agent(config, spec)
  learner = learner_lib.Learner(agent, config)
  example = trajectories.unroll_example(agent, spec, config.unroll_length)
  if xla:  # XLA compiles no string op: the level names (which the loss never reads) become numbers.
    example = example._replace(level_name=np.int32(0))
  batch = prefetch.fresh_batch(tree.map_structure(lambda x: np.stack([x] * config.batch_size),
                                                  example))
  train_step = tf.function(learner.train_step, jit_compile=xla or None,
                           input_signature=[prefetch.batch_signature(example, config.batch_size)])
  single = (np.int32(0), trajectories.without_info(trajectories.example_env_output(spec)),
            agents.actor_initial_state(agent))
  rows = trajectories.stack([single] * config.num_actors)
  inference = tf.function(agent.step, jit_compile=xla or None)

  def timed(fn, calls):
    fn()
    fn()  # Traced, then warm.
    wall, cpu = time.monotonic(), time.process_time()
    for _ in range(calls):
      fn()
    return (time.process_time() - cpu) / calls, (time.monotonic() - wall) / calls

  learner_cpu, learner_wall = timed(lambda: train_step(batch)['total_loss'].numpy(), steps)
  inference_cpu, inference_wall = timed(
      lambda: tree.map_structure(np.asarray, inference(*rows)), max(20, 200 // config.num_actors))
  print(json.dumps(dict(
      learner_us=learner_cpu / (config.unroll_length * config.batch_size) * 1e6,
      learner_ms=learner_wall * 1e3, inference_us=inference_cpu / config.num_actors * 1e6,
      inference_ms=inference_wall * 1e3)))


def run_variant(config_name, variant, steps):
  output = subprocess.run(
      [sys.executable, os.path.abspath(__file__), '--child', config_name, variant, str(steps)],
      capture_output=True, text=True, check=False)
  errors = sum('remapper failed' in line for line in output.stderr.splitlines())
  if output.returncode != 0:  # XLA on DeepMind Lab's agent: its string ops do not compile.
    lines = [line for line in output.stderr.splitlines() if 'Error' in line]
    return dict(failed=(lines or ['exit code %d' % output.returncode])[-1][:160])
  return dict(json.loads(output.stdout.strip().splitlines()[-1]), errors=errors)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--configs', default='lab_deep,pong')
  parser.add_argument('--variants', default=','.join(VARIANTS))
  parser.add_argument('--rounds', type=int, default=2)
  parser.add_argument('--steps', type=int, default=3, help='Timed learner steps a variant a round.')
  parser.add_argument('--record', action='store_true')
  parser.add_argument('--child', nargs=3, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    return child(args.child[0], args.child[1], int(args.child[2]))
  configs, variants = args.configs.split(','), args.variants.split(',')
  for name, known in ((configs, CONFIGS), (variants, VARIANTS)):
    unknown = [n for n in name if n not in known]
    if unknown:
      raise SystemExit(f'unknown {", ".join(unknown)}; choose from {", ".join(known)}')
  results = {}
  for round_ in range(args.rounds):
    for config_name in configs:
      for variant in variants:
        result = run_variant(config_name, variant, args.steps)
        results.setdefault((config_name, variant), []).append(result)
        print(f'round {round_ + 1}: {config_name:<9} {variant:<13} {json.dumps(result)}', flush=True)
  lines = [f'Learner step and batched inference, {args.rounds} rounds interleaved, medians; '
           f'{os.cpu_count()} cores ({platform.processor() or platform.machine()}), '
           f'{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.',
           f'{"config":<10}{"variant":<14}{"learner us/step":>16}{"learner ms/call":>16}'
           f'{"inference us/row":>17}{"inference ms/call":>18}{"remapper errors":>16}']
  for (config_name, variant), all_runs in results.items():
    runs = [run for run in all_runs if 'failed' not in run]
    if not runs:
      lines.append(f'{config_name:<10}{variant:<14}failed: {all_runs[0]["failed"]}')
      continue
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    lines.append(f'{config_name:<10}{variant:<14}{median["learner_us"]:>16.0f}'
                 f'{median["learner_ms"]:>16.0f}{median["inference_us"]:>17.1f}'
                 f'{median["inference_ms"]:>18.2f}{median["errors"]:>16.0f}')
  lines.append('us/step: CPU microseconds per agent step (the step over T x B, inference over its '
               'rows); ms/call: wall time of one call; remapper errors: Grappler\'s error lines.')
  print('\n'.join(lines))
  if args.record:
    path = os.path.join(ROOT, 'benchmarks', 'results', 'learner_step.txt')
    with open(path, 'a') as f:
      f.write(' '.join(sys.argv) + '\n' + '\n'.join(lines) + '\n\n')
    print(f'Recorded in {path}.')


if __name__ == '__main__':
  main()
