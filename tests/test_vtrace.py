"""V-trace against an independent NumPy reference written from the paper's sum formula."""
import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest
import tensorflow as tf

import vtrace

THRESHOLDS = st.sampled_from([None, 0.5, 1.0, 2.0])
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


def reference_vtrace(log_rhos, discounts, rewards, values, bootstrap_value, clip_rho_threshold,
                     clip_pg_rho_threshold):
  """The paper's definition, as a double sum (not the recursion), in float64.

  v_s = V(x_s) + sum_{t=s}^{T-1} (prod_{i=s}^{t-1} gamma_i c_i) delta_t, with
  delta_t = rho_t (r_t + gamma_t V(x_{t+1}) - V(x_t)).
  """
  log_rhos, discounts, rewards, values, bootstrap_value = (
      np.asarray(x, np.float64) for x in (log_rhos, discounts, rewards, values, bootstrap_value))
  rhos = np.exp(log_rhos)
  rho = rhos if clip_rho_threshold is None else np.minimum(clip_rho_threshold, rhos)
  c = np.minimum(1.0, rhos)
  pg_rho = rhos if clip_pg_rho_threshold is None else np.minimum(clip_pg_rho_threshold, rhos)
  next_values = np.concatenate([values[1:], bootstrap_value[None]])
  num_steps = len(values)
  vs = np.zeros_like(values)
  for s in range(num_steps):
    total = values[s].copy()
    trace = np.ones_like(values[s])
    for t in range(s, num_steps):
      delta = rho[t] * (rewards[t] + discounts[t] * next_values[t] - values[t])
      total += trace * delta
      trace = trace * discounts[t] * c[t]
    vs[s] = total
  next_vs = np.concatenate([vs[1:], bootstrap_value[None]])
  pg_advantages = pg_rho * (rewards + discounts * next_vs - values)
  return vs, pg_advantages


def random_inputs(rng, shape, dtype):
  """Inputs for from_importance_weights with shape [T, ...]."""
  return dict(
      log_rhos=rng.normal(scale=1.0, size=shape).astype(dtype),
      # Some zeros, as at episode ends.
      discounts=(rng.uniform(size=shape) > 0.1).astype(dtype) * dtype(0.99),
      rewards=rng.normal(size=shape).astype(dtype),
      values=rng.normal(size=shape).astype(dtype),
      bootstrap_value=rng.normal(size=shape[1:]).astype(dtype))


def assert_close(actual, expected, dtype):
  tolerance = TOLERANCE[dtype]
  np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


@hypothesis.settings(deadline=None, max_examples=60)
@hypothesis.given(
    num_steps=st.integers(1, 30),
    batch_shape=st.sampled_from([(), (1,), (5,), (3, 4), (2, 3, 2)]),
    clip_rho_threshold=THRESHOLDS,
    clip_pg_rho_threshold=THRESHOLDS,
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2 ** 31 - 1))
def test_from_importance_weights_matches_reference(num_steps, batch_shape, clip_rho_threshold,
                                                   clip_pg_rho_threshold, dtype, seed):
  inputs = random_inputs(np.random.default_rng(seed), (num_steps,) + batch_shape, dtype)
  output = vtrace.from_importance_weights(
      **inputs, clip_rho_threshold=clip_rho_threshold, clip_pg_rho_threshold=clip_pg_rho_threshold)
  expected_vs, expected_pg = reference_vtrace(
      **inputs, clip_rho_threshold=clip_rho_threshold, clip_pg_rho_threshold=clip_pg_rho_threshold)
  assert output.vs.dtype == dtype and output.pg_advantages.dtype == dtype
  assert output.vs.shape == inputs['values'].shape
  assert_close(output.vs.numpy(), expected_vs, dtype)
  assert_close(output.pg_advantages.numpy(), expected_pg, dtype)


@pytest.mark.parametrize('num_steps,batch_size', [(100, 32), (20, 32)])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_paper_sizes_match_reference(num_steps, batch_size, dtype):
  inputs = random_inputs(np.random.default_rng(num_steps), (num_steps, batch_size), dtype)
  output = vtrace.from_importance_weights(**inputs)
  expected_vs, expected_pg = reference_vtrace(**inputs, clip_rho_threshold=1.0,
                                              clip_pg_rho_threshold=1.0)
  assert_close(output.vs.numpy(), expected_vs, dtype)
  assert_close(output.pg_advantages.numpy(), expected_pg, dtype)


def _log_softmax(logits):
  logits = logits - logits.max(axis=-1, keepdims=True)
  return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def _logits_inputs(rng, num_steps, batch_size, num_actions, dtype=np.float32):
  return dict(
      behaviour_policy_logits=rng.normal(size=(num_steps, batch_size, num_actions)).astype(dtype),
      target_policy_logits=rng.normal(size=(num_steps, batch_size, num_actions)).astype(dtype),
      actions=rng.integers(0, num_actions, size=(num_steps, batch_size)).astype(np.int32),
      discounts=np.full((num_steps, batch_size), 0.99, dtype),
      rewards=rng.normal(size=(num_steps, batch_size)).astype(dtype),
      values=rng.normal(size=(num_steps, batch_size)).astype(dtype),
      bootstrap_value=rng.normal(size=(batch_size,)).astype(dtype))


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_from_logits_matches_reference(dtype):
  inputs = _logits_inputs(np.random.default_rng(0), 7, 5, 4, dtype)
  output = vtrace.from_logits(**inputs, clip_rho_threshold=1.0, clip_pg_rho_threshold=2.0)

  def action_log_probs(logits):
    return np.take_along_axis(_log_softmax(logits.astype(np.float64)),
                              inputs['actions'][..., None], axis=-1)[..., 0]

  behaviour = action_log_probs(inputs['behaviour_policy_logits'])
  target = action_log_probs(inputs['target_policy_logits'])
  expected_vs, expected_pg = reference_vtrace(
      target - behaviour, inputs['discounts'], inputs['rewards'], inputs['values'],
      inputs['bootstrap_value'], clip_rho_threshold=1.0, clip_pg_rho_threshold=2.0)
  assert_close(output.behaviour_action_log_probs.numpy(), behaviour, dtype)
  assert_close(output.target_action_log_probs.numpy(), target, dtype)
  assert_close(output.log_rhos.numpy(), target - behaviour, dtype)
  assert_close(output.vs.numpy(), expected_vs, dtype)
  assert_close(output.pg_advantages.numpy(), expected_pg, dtype)


def test_on_policy_gives_n_step_bootstrapped_returns():
  rng = np.random.default_rng(1)
  num_steps, batch_size, gamma = 6, 3, 0.9
  rewards = rng.normal(size=(num_steps, batch_size))
  bootstrap = rng.normal(size=(batch_size,))
  output = vtrace.from_importance_weights(
      log_rhos=np.zeros((num_steps, batch_size)), discounts=np.full((num_steps, batch_size), gamma),
      rewards=rewards, values=rng.normal(size=(num_steps, batch_size)), bootstrap_value=bootstrap,
      clip_rho_threshold=None, clip_pg_rho_threshold=None)
  for s in range(num_steps):
    expected = sum(gamma ** (t - s) * rewards[t] for t in range(s, num_steps))
    expected += gamma ** (num_steps - s) * bootstrap
    np.testing.assert_allclose(output.vs[s], expected, rtol=1e-10)


def test_zero_discount_cuts_the_trace():
  rng = np.random.default_rng(2)
  inputs = random_inputs(rng, (10, 4), np.float64)
  inputs['discounts'] = np.full((10, 4), 0.99)
  inputs['discounts'][4] = 0.0  # The episode ends after step 4.
  before = vtrace.from_importance_weights(**inputs).vs.numpy()
  # Whatever happens after the episode end cannot change the targets up to it.
  for key in ('log_rhos', 'rewards', 'values'):
    inputs[key][5:] = rng.normal(size=(5, 4))
  inputs['bootstrap_value'] = rng.normal(size=(4,))
  after = vtrace.from_importance_weights(**inputs).vs.numpy()
  np.testing.assert_allclose(after[:5], before[:5], rtol=1e-12)
  assert not np.allclose(after[5:], before[5:])
  # And at the last step of the episode the target is one (clipped-)importance-weighted reward.
  rho = min(1.0, np.exp(inputs['log_rhos'][4, 0]))
  values = inputs['values'][4, 0]
  np.testing.assert_allclose(after[4, 0], values + rho * (inputs['rewards'][4, 0] - values))


def test_no_gradient_through_targets():
  inputs = {k: tf.constant(v) for k, v in random_inputs(np.random.default_rng(3), (5, 2),
                                                         np.float32).items()}
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(list(inputs.values()))
    output = vtrace.from_importance_weights(**inputs)
    total = tf.reduce_sum(output.vs) + tf.reduce_sum(output.pg_advantages)
  assert all(g is None for g in tape.gradient(total, list(inputs.values())))


def test_target_log_probs_carry_the_policy_gradient():
  inputs = {k: tf.constant(v) for k, v in _logits_inputs(np.random.default_rng(4), 5, 2, 3).items()}
  with tf.GradientTape() as tape:
    tape.watch(inputs['target_policy_logits'])
    output = vtrace.from_logits(**inputs)
    loss = -tf.reduce_sum(output.target_action_log_probs * output.pg_advantages)
  gradient = tape.gradient(loss, inputs['target_policy_logits'])
  assert gradient is not None and np.abs(gradient.numpy()).sum() > 0


def test_graph_mode_and_unknown_length_agree_with_eager():
  inputs = random_inputs(np.random.default_rng(5), (100, 32), np.float32)
  eager = vtrace.from_importance_weights(**inputs)
  graph = tf.function(vtrace.from_importance_weights)(**inputs)
  # With the length unknown at trace time the recursion runs as a scan.
  spec = tf.TensorSpec([None, 32], tf.float32)
  scanned = tf.function(vtrace.from_importance_weights, input_signature=[spec] * 4 + [
      tf.TensorSpec([32], tf.float32)])(**inputs)
  for other in (graph, scanned):
    np.testing.assert_allclose(other.vs, eager.vs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(other.pg_advantages, eager.pg_advantages, rtol=1e-5, atol=1e-5)


def test_unknown_shapes_in_graph():
  spec = tf.TensorSpec([None, None], tf.float32)
  fn = tf.function(vtrace.from_importance_weights, input_signature=[spec] * 4 + [
      tf.TensorSpec([None], tf.float32)])
  inputs = random_inputs(np.random.default_rng(6), (9, 3), np.float32)
  expected_vs, _ = reference_vtrace(**inputs, clip_rho_threshold=1.0, clip_pg_rho_threshold=1.0)
  np.testing.assert_allclose(fn(**inputs).vs, expected_vs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('argument,shape', [('discounts', (5,)), ('rewards', (5, 2, 1)),
                                            ('values', (5,)), ('bootstrap_value', (2, 1))])
def test_wrong_ranks_raise(argument, shape):
  inputs = random_inputs(np.random.default_rng(7), (5, 2), np.float32)
  inputs[argument] = np.zeros(shape, np.float32)
  with pytest.raises(ValueError, match=argument):
    vtrace.from_importance_weights(**inputs)


def test_from_logits_wrong_ranks_raise():
  inputs = _logits_inputs(np.random.default_rng(8), 5, 2, 3)
  inputs['actions'] = inputs['actions'][..., None]
  with pytest.raises(ValueError):
    vtrace.from_logits(**inputs)
  with pytest.raises(ValueError, match='correction'):
    vtrace.from_logits(**_logits_inputs(np.random.default_rng(8), 5, 2, 3), correction='retrace')


def test_table_2_corrections():
  inputs = _logits_inputs(np.random.default_rng(9), 8, 3, 4)
  log_rhos = vtrace.from_logits(**inputs).log_rhos.numpy()
  uncorrected_vs, uncorrected_pg = reference_vtrace(
      np.zeros_like(log_rhos), inputs['discounts'], inputs['rewards'], inputs['values'],
      inputs['bootstrap_value'], clip_rho_threshold=None, clip_pg_rho_threshold=None)

  none = vtrace.from_logits(**inputs, correction='none')
  assert_close(none.vs.numpy(), uncorrected_vs, np.float32)
  assert_close(none.pg_advantages.numpy(), uncorrected_pg, np.float32)

  one_step = vtrace.from_logits(**inputs, correction='one_step_is', clip_pg_rho_threshold=1.0)
  assert_close(one_step.vs.numpy(), uncorrected_vs, np.float32)
  assert_close(one_step.pg_advantages.numpy(),
               np.minimum(1.0, np.exp(log_rhos)) * uncorrected_pg, np.float32)

  epsilon = vtrace.from_logits(**inputs, correction='epsilon')
  probs = np.exp(_log_softmax(inputs['target_policy_logits'].astype(np.float64)))
  chosen = np.take_along_axis(probs, inputs['actions'][..., None], axis=-1)[..., 0]
  assert_close(epsilon.target_action_log_probs.numpy(), np.log(chosen + 1e-6), np.float32)
  assert_close(epsilon.vs.numpy(), uncorrected_vs, np.float32)
