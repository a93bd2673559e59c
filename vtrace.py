"""V-trace off-policy actor-critic targets (Espeholt et al. 2018, section 4), in TensorFlow 2.

The API is the original release's: `from_logits` and `from_importance_weights`, time-major inputs
`[T, B, ...]`, the same argument names, defaults and returned namedtuples.

For the learner, with rho_t = min(rho_bar, pi(a_t|x_t) / mu(a_t|x_t)) and c_t = min(c_bar, pi / mu):

    delta_t   = rho_t * (r_t + gamma_t * V(x_{t+1}) - V(x_t))
    v_s       = V(x_s) + delta_s + gamma_s * c_s * (v_{s+1} - V(x_{s+1}))       (v_T = V(x_T))
    pg_adv_s  = min(rho_pg_bar, pi / mu) * (r_s + gamma_s * v_{s+1} - V(x_s))

where gamma_t is the per-step discount (discounting * (1 - done)) and V(x_T) the bootstrap value.
A clipping threshold of None disables that clip. Neither output carries a gradient.

`from_logits` also offers the other corrections of the paper's Table 2 through `correction`:
- 'vtrace': the above.
- 'one_step_is': no correction of the value targets (n-step returns); the policy-gradient advantage is
  weighted by the importance weight of its own step only (clipped at clip_pg_rho_threshold).
- 'epsilon': no correction of the targets; 1e-6 is added to pi(a) inside the log of the target
  policy's log-probability (use `target_action_log_probs` in the policy-gradient loss).
- 'none': no off-policy correction at all.
"""
import collections

import tensorflow as tf

VTraceFromLogitsReturns = collections.namedtuple(
    'VTraceFromLogitsReturns',
    ['vs', 'pg_advantages', 'log_rhos', 'behaviour_action_log_probs', 'target_action_log_probs'])

VTraceReturns = collections.namedtuple('VTraceReturns', 'vs pg_advantages')

CORRECTIONS = ('vtrace', 'one_step_is', 'epsilon', 'none')

# The paper's epsilon-correction: added inside the log of pi(a) (Table 2).
EPSILON_CORRECTION = 1e-6

def log_probs_from_logits_and_actions(policy_logits, actions):
  """Log-probabilities of `actions` [T, B] under the softmax of `policy_logits` [T, B, NUM_ACTIONS]."""
  policy_logits = tf.convert_to_tensor(policy_logits)
  actions = tf.convert_to_tensor(actions)
  policy_logits.shape.with_rank(3)
  actions.shape.with_rank(2)
  return -tf.nn.sparse_softmax_cross_entropy_with_logits(logits=policy_logits, labels=actions)


def from_logits(behaviour_policy_logits, target_policy_logits, actions, discounts, rewards, values,
                bootstrap_value, clip_rho_threshold=1.0, clip_pg_rho_threshold=1.0,
                correction='vtrace', name='vtrace_from_logits'):
  """V-trace targets for softmax policies.

  Args:
    behaviour_policy_logits: [T, B, NUM_ACTIONS] logits of the policy that acted (mu).
    target_policy_logits: [T, B, NUM_ACTIONS] logits of the policy being learned (pi).
    actions: [T, B] int actions taken under the behaviour policy.
    discounts: [T, B] per-step discounts (0 where an episode ended).
    rewards: [T, B] rewards.
    values: [T, B] value estimates V(x_t) under the target policy.
    bootstrap_value: [B] value estimate V(x_T).
    clip_rho_threshold: rho_bar, or None for no clipping.
    clip_pg_rho_threshold: rho_pg_bar, or None for no clipping.
    correction: one of CORRECTIONS (the paper's Table 2); 'vtrace' by default.
    name: name scope.

  Returns:
    VTraceFromLogitsReturns; `vs` and `pg_advantages` [T, B] carry no gradient.
  """
  if correction not in CORRECTIONS:
    raise ValueError(f'correction must be one of {CORRECTIONS}, got {correction!r}')
  behaviour_policy_logits = tf.convert_to_tensor(behaviour_policy_logits)
  target_policy_logits = tf.convert_to_tensor(target_policy_logits)
  actions = tf.convert_to_tensor(actions)
  behaviour_policy_logits.shape.with_rank(3)
  target_policy_logits.shape.with_rank(3)
  actions.shape.with_rank(2)

  with tf.name_scope(name):
    behaviour_action_log_probs = log_probs_from_logits_and_actions(behaviour_policy_logits, actions)
    if correction == 'epsilon':
      target_probs = tf.gather(tf.nn.softmax(target_policy_logits), actions, batch_dims=2)
      target_action_log_probs = tf.math.log(target_probs + EPSILON_CORRECTION)
    else:
      target_action_log_probs = log_probs_from_logits_and_actions(target_policy_logits, actions)
    log_rhos = target_action_log_probs - behaviour_action_log_probs

    if correction == 'vtrace':
      returns = from_importance_weights(
          log_rhos, discounts, rewards, values, bootstrap_value,
          clip_rho_threshold=clip_rho_threshold, clip_pg_rho_threshold=clip_pg_rho_threshold)
    else:
      # Uncorrected n-step targets: V-trace with every importance weight equal to one.
      returns = from_importance_weights(
          tf.zeros_like(log_rhos), discounts, rewards, values, bootstrap_value,
          clip_rho_threshold=None, clip_pg_rho_threshold=None)
      if correction == 'one_step_is':
        rhos = tf.exp(tf.stop_gradient(log_rhos))
        if clip_pg_rho_threshold is not None:
          rhos = tf.minimum(tf.cast(clip_pg_rho_threshold, rhos.dtype), rhos)
        returns = returns._replace(pg_advantages=rhos * returns.pg_advantages)

    return VTraceFromLogitsReturns(
        vs=returns.vs,
        pg_advantages=returns.pg_advantages,
        log_rhos=log_rhos,
        behaviour_action_log_probs=behaviour_action_log_probs,
        target_action_log_probs=target_action_log_probs)


def from_importance_weights(log_rhos, discounts, rewards, values, bootstrap_value,
                            clip_rho_threshold=1.0, clip_pg_rho_threshold=1.0,
                            name='vtrace_from_importance_weights'):
  """V-trace targets from log importance weights log(pi(a_t|x_t) / mu(a_t|x_t)).

  `log_rhos`, `discounts`, `rewards` and `values` share the shape [T, B, ...] (rank R, extra trailing
  dimensions allowed); `bootstrap_value` has shape [B, ...] (rank R - 1).

  Returns:
    VTraceReturns(vs, pg_advantages), both of shape [T, B, ...] and without gradient.
  """
  log_rhos = tf.convert_to_tensor(log_rhos)
  dtype = log_rhos.dtype
  discounts = tf.convert_to_tensor(discounts, dtype=dtype)
  rewards = tf.convert_to_tensor(rewards, dtype=dtype)
  values = tf.convert_to_tensor(values, dtype=dtype)
  bootstrap_value = tf.convert_to_tensor(bootstrap_value, dtype=dtype)

  rank = log_rhos.shape.rank
  if rank is not None:
    if rank < 1:
      raise ValueError(f'log_rhos must have rank >= 1 (time-major [T, B, ...]), got shape {log_rhos.shape}')
    for arg_name, tensor, expected in (('discounts', discounts, rank), ('rewards', rewards, rank),
                                       ('values', values, rank),
                                       ('bootstrap_value', bootstrap_value, rank - 1)):
      if tensor.shape.rank is not None and tensor.shape.rank != expected:
        raise ValueError(f'{arg_name} must have rank {expected} like log_rhos {log_rhos.shape} '
                         f'(bootstrap_value one less), got shape {tensor.shape}')

  with tf.name_scope(name):
    rhos = tf.exp(log_rhos)
    clipped_rhos = rhos if clip_rho_threshold is None else tf.minimum(
        tf.cast(clip_rho_threshold, dtype), rhos)
    # c_bar = 1, as the original (the paper's lambda = 1); there is no argument for it there either.
    cs = tf.minimum(tf.ones([], dtype), rhos)
    values_t_plus_1 = tf.concat([values[1:], bootstrap_value[tf.newaxis]], axis=0)
    deltas = clipped_rhos * (rewards + discounts * values_t_plus_1 - values)

    vs_minus_v_xs = _reverse_discounted_sum(discounts * cs, deltas)
    vs = vs_minus_v_xs + values

    vs_t_plus_1 = tf.concat([vs[1:], bootstrap_value[tf.newaxis]], axis=0)
    clipped_pg_rhos = rhos if clip_pg_rho_threshold is None else tf.minimum(
        tf.cast(clip_pg_rho_threshold, dtype), rhos)
    pg_advantages = clipped_pg_rhos * (rewards + discounts * vs_t_plus_1 - values)

    return VTraceReturns(vs=tf.stop_gradient(vs), pg_advantages=tf.stop_gradient(pg_advantages))


def _reverse_discounted_sum(coefficients, values):
  """acc_s = values_s + coefficients_s * acc_{s+1} with acc_T = 0, along the leading (time) axis.

  Recursive doubling (a parallel prefix scan): after the step with offset k, each position holds the
  pair (A_s, V_s) with acc_s = V_s + A_s * acc_{s+k}. Combining position s with s+k doubles the offset,
  so ceil(log2 T) element-wise steps replace T sequential ones; memory stays O(T * batch). Beyond the
  end acc is 0, which zero padding expresses. An unknown T (at trace time) falls back to a scan.
  """
  num_steps = values.shape[0]
  if num_steps is None:
    return tf.scan(lambda acc, x: x[1] + x[0] * acc, (coefficients, values),
                   initializer=tf.zeros_like(values[0]), reverse=True)
  offset = 1
  while offset < num_steps:
    values = values + coefficients * _shift_up(values, offset)
    if 2 * offset < num_steps:
      coefficients = coefficients * _shift_up(coefficients, offset)
    offset *= 2
  return values


def _shift_up(x, offset):
  """x_{s+offset} at position s along the time axis, zero past the end."""
  return tf.pad(x[offset:], [[0, offset]] + [[0, 0]] * (x.shape.rank - 1))
