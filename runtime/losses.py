"""The IMPALA loss: V-trace targets, policy gradient, baseline and entropy terms (paper section 4);
with PopArt, on the targets and advantages normalised by each task's statistics (runtime/popart.py)."""
import tensorflow as tf
import tree

from runtime import replicas
import vtrace


def clip_rewards(rewards, method):
  if method == 'none':
    return rewards
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


def impala_loss(agent, batch, config, replayed=None, entropy_cost=None, popart=None):
  """The loss of `agent` on a time-major Unroll batch; returns (total, dict of its terms and
  diagnostics). Reads config's discounting, reward_clipping, correction and the costs; `entropy_cost`
  (a variable PBT evolves) replaces config's.

  replayed: bool [B], the unrolls that came from the replay buffer; the diagnostics then tell how
  off-policy the fresh and the replayed ones are.
  popart: a runtime.popart.PopArt, for PopArt's agent: V-trace on the values of each unroll's task,
  and the value and policy-gradient terms normalised by the task's statistics, which it updates.
  """
  learner_outputs, _, features, core_outputs = agent.unroll_with_core(
      batch.agent_outputs.action, batch.env_outputs, batch.agent_state)
  values = learner_outputs.baseline
  if popart is not None:
    tasks = popart.task_ids(batch.level_name)
    values = popart.task_values(values, tasks)
  bootstrap_value = values[-1]
  # After the shift, the actions at time t (in agent_outputs and learner_outputs) are what led to the
  # environment outputs at time t.
  agent_outputs = tree.map_structure(lambda t: t[1:], batch.agent_outputs)
  rewards, _, done, _ = tree.map_structure(lambda t: t[1:], batch.env_outputs)
  learner_outputs = tree.map_structure(lambda t: t[:-1], learner_outputs)
  values = values[:-1]

  discounts = tf.cast(~done, tf.float32) * config.discounting
  vtrace_returns = vtrace.from_logits(
      behaviour_policy_logits=agent_outputs.policy_logits,
      target_policy_logits=learner_outputs.policy_logits,
      actions=agent_outputs.action,
      discounts=discounts,
      rewards=clip_rewards(rewards, config.reward_clipping),
      values=values,
      bootstrap_value=bootstrap_value,
      correction=config.correction)
  if popart is None:
    value_errors, advantages = vtrace_returns.vs - values, vtrace_returns.pg_advantages
  else:
    value_errors, advantages = popart.normalized_errors(agent.value_head, core_outputs[:-1],
                                                        vtrace_returns, tasks)
  terms = {
      'policy_gradient_loss': compute_policy_gradient_loss(
          vtrace_returns.target_action_log_probs, advantages),
      'baseline_loss': config.baseline_cost * compute_baseline_loss(value_errors),
      'entropy_loss': (config.entropy_cost if entropy_cost is None else entropy_cost) *
                      compute_entropy_loss(learner_outputs.policy_logits),
  }
  total = tf.add_n(list(terms.values()))
  terms['total_loss'] = total
  # How far the actors' policy lags the learner's: 0 when every unroll is played on-policy.
  abs_log_rhos = tf.abs(vtrace_returns.log_rhos)
  terms['max_abs_log_rho'] = tf.reduce_max(abs_log_rhos)
  terms['mean_abs_log_rho'] = tf.reduce_mean(abs_log_rhos)
  # Torso units that fire on no step of the whole batch: a ReLU unit silent everywhere gets no
  # gradient, and when all are, the policy is constant (a collapse seen in Pong runs).
  peak = replicas.sum_over_replicas(tf.reduce_max(features, axis=[0, 1]))
  terms['silent_torso_units'] = tf.reduce_sum(tf.cast(peak <= 0., tf.float32))
  if replayed is not None:
    terms.update(_by_origin(abs_log_rhos, replayed))
  return total, terms


def _by_origin(abs_log_rhos, replayed):
  """Mean |log rho| of the fresh and of the replayed unrolls (0 where a batch has none), and the
  share replayed: over the whole batch, when replicas each hold a part of it."""
  per_unroll = tf.reduce_mean(abs_log_rhos, axis=0)  # [B]
  replayed = tf.cast(replayed, tf.float32)
  fresh = 1. - replayed
  sums = replicas.sum_over_replicas({
      'fresh': tf.reduce_sum(fresh), 'replayed': tf.reduce_sum(replayed),
      'rho_fresh': tf.reduce_sum(per_unroll * fresh), 'rho_replayed': tf.reduce_sum(per_unroll * replayed)})
  return {
      'replayed_share': sums['replayed'] / (sums['fresh'] + sums['replayed']),
      'mean_abs_log_rho_fresh': tf.math.divide_no_nan(sums['rho_fresh'], sums['fresh']),
      'mean_abs_log_rho_replayed': tf.math.divide_no_nan(sums['rho_replayed'], sums['replayed']),
  }
