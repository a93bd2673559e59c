"""Times vtrace.from_importance_weights against a plain tf.scan implementation (the original's way).

Usage: .venv/bin/python benchmarks/vtrace_bench.py [--repeats=200]
Prints, for the DMLab (T=100, B=32) and Atari (T=20, B=32) sizes, eagerly and inside tf.function,
the time per call of both implementations and the speed-up (scan time / ours).
"""
import os
import sys
import timeit

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app
from absl import flags
import numpy as np
from runtime import startup  # pylint: disable=g-import-not-at-top,wrong-import-position
startup.import_tensorflow_quietly()  # TensorFlow's start-up notices filtered, as in experiment.py.
import tensorflow as tf

import vtrace

flags.DEFINE_integer('repeats', 200, 'Calls timed per measurement (the best of 5 runs is kept).')
FLAGS = flags.FLAGS

SIZES = (('DMLab', 100, 32), ('Atari', 20, 32))


def scan_vtrace(log_rhos, discounts, rewards, values, bootstrap_value):
  """V-trace with the backward recursion as a tf.scan, clipping at 1 as the defaults."""
  rhos = tf.exp(log_rhos)
  clipped_rhos = tf.minimum(1.0, rhos)
  cs = tf.minimum(1.0, rhos)
  values_t_plus_1 = tf.concat([values[1:], bootstrap_value[None]], axis=0)
  deltas = clipped_rhos * (rewards + discounts * values_t_plus_1 - values)
  vs_minus_v_xs = tf.scan(lambda acc, x: x[0] + x[1] * x[2] * acc, (deltas, discounts, cs),
                          initializer=tf.zeros_like(bootstrap_value), reverse=True)
  vs = vs_minus_v_xs + values
  vs_t_plus_1 = tf.concat([vs[1:], bootstrap_value[None]], axis=0)
  pg_advantages = clipped_rhos * (rewards + discounts * vs_t_plus_1 - values)
  return vtrace.VTraceReturns(tf.stop_gradient(vs), tf.stop_gradient(pg_advantages))


def seconds_per_call(fn, inputs, repeats):
  fn(**inputs)  # Warm up (and trace, for tf.function).
  runs = timeit.repeat(lambda: fn(**inputs).vs.numpy(), number=repeats, repeat=5)
  return min(runs) / repeats


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  print(f'{"size":<18}{"mode":<13}{"tf.scan (ms)":>14}{"vtrace.py (ms)":>16}{"speed-up":>10}')
  for label, num_steps, batch_size in SIZES:
    shape = (num_steps, batch_size)
    inputs = dict(
        log_rhos=tf.constant(rng.normal(size=shape), tf.float32),
        discounts=tf.constant(np.full(shape, 0.99), tf.float32),
        rewards=tf.constant(rng.normal(size=shape), tf.float32),
        values=tf.constant(rng.normal(size=shape), tf.float32),
        bootstrap_value=tf.constant(rng.normal(size=batch_size), tf.float32))
    np.testing.assert_allclose(vtrace.from_importance_weights(**inputs).vs,
                               scan_vtrace(**inputs).vs, rtol=1e-4, atol=1e-4)
    for mode, wrap in (('eager', lambda f: f), ('tf.function', tf.function)):
      baseline = seconds_per_call(wrap(scan_vtrace), inputs, FLAGS.repeats)
      ours = seconds_per_call(wrap(vtrace.from_importance_weights), inputs, FLAGS.repeats)
      print(f'{f"{label} T={num_steps} B={batch_size}":<18}{mode:<13}{baseline * 1e3:>14.3f}'
            f'{ours * 1e3:>16.3f}{baseline / ours:>9.1f}x')


if __name__ == '__main__':
  app.run(main)
