"""The A3C paper's asynchronous value-based methods: targets, loss and epsilon-greedy exploration.

The network is IMPALA's (networks/); its policy-logits head is read as the action values Q(s, .) and
its value head goes unused. Losses take a time-major unroll [T + 1, B] as runtime.losses.impala_loss
does: env_outputs[t + 1] is what the action chosen at env_outputs[t] (agent_outputs.action[t + 1])
led to, so the unroll holds T transitions.
"""
import numpy as np
import tensorflow as tf

from baselines import settings as baseline_settings
from runtime import losses

# Each thread anneals epsilon from 1 to a final value drawn once from these (A3C paper, section 8).
FINAL_EPSILONS = (0.1, 0.01, 0.5)
FINAL_EPSILON_PROBABILITIES = (0.4, 0.3, 0.3)
# Test mode acts epsilon-greedily with this, as DQN's evaluations did, so no episode hangs on a
# greedy policy that never starts the game.
TEST_EPSILON = 0.05


def sample_final_epsilon(rng):
  return float(rng.choice(FINAL_EPSILONS, p=FINAL_EPSILON_PROBABILITIES))


def annealed_epsilon(final_epsilon, frames, anneal_frames):
  """Linear from 1 at frame 0 to `final_epsilon` at `anneal_frames`, constant after."""
  return 1. + (final_epsilon - 1.) * min(1., frames / anneal_frames)


class EpsilonGreedy:
  """Wraps an actor inference: the greedy action of Q, or with probability `epsilon()` a random one."""

  def __init__(self, inference, epsilon, rng):
    self._inference = inference
    self._epsilon = epsilon
    self._rng = rng

  def __call__(self, inputs):
    output, state = self._inference(inputs)
    q_values = output.policy_logits
    explore = self._rng.random(len(q_values)) < self._epsilon()
    random_actions = self._rng.integers(q_values.shape[-1], size=len(q_values))
    actions = np.where(explore, random_actions, q_values.argmax(axis=-1)).astype(np.int32)
    return output._replace(action=actions), state

  def close(self):
    self._inference.close()


def test_policy(inference, seed):
  """Test mode's policy: epsilon-greedy with TEST_EPSILON."""
  return EpsilonGreedy(inference, lambda: TEST_EPSILON, np.random.default_rng(seed))


def targets(method, target_q_values, actions, next_actions, rewards, discounts):
  """The regression targets y_t, t < T, of `method`. No gradient flows through them.

  Args:
    method: one of baselines.settings.Q_AGENTS.
    target_q_values: [T + 1, B, A], the target network's Q(s_t, .) for t = 0..T.
    actions: [T, B] int, a_t, chosen at s_t.
    next_actions: [B] int, the action chosen at s_T (one-step Sarsa's last target needs it).
    rewards, discounts: [T, B], r_t and gamma (0 where s_{t+1} starts a new episode).

  one_step_q: r_t + d_t max_a Q'(s_{t+1}, a). one_step_sarsa: r_t + d_t Q'(s_{t+1}, a_{t+1}).
  n_step_q: the forward view, y_t = r_t + d_t y_{t+1} with y_T = max_a Q'(s_T, a).
  """
  if method not in baseline_settings.Q_AGENTS:
    raise ValueError(f'method must be one of {baseline_settings.Q_AGENTS}, got {method!r}')
  next_values = target_q_values[1:]
  if method == 'one_step_q':
    return tf.stop_gradient(rewards + discounts * tf.reduce_max(next_values, axis=-1))
  if method == 'one_step_sarsa':
    following = tf.concat([actions[1:], next_actions[None]], axis=0)
    return tf.stop_gradient(
        rewards + discounts * tf.gather(next_values, following, batch_dims=2))
  returns = []
  value = tf.reduce_max(target_q_values[-1], axis=-1)
  for reward, discount in zip(tf.unstack(rewards)[::-1], tf.unstack(discounts)[::-1]):
    value = reward + discount * value
    returns.append(value)
  return tf.stop_gradient(tf.stack(returns[::-1]))


def loss(method, agent, target_agent, batch, next_actions, config):
  """0.5 (y_t - Q(s_t, a_t))^2 summed over the unroll; returns (total, dict of terms)."""
  q_values = agent.unroll(batch.agent_outputs.action, batch.env_outputs, batch.agent_state)[0]
  target_q_values = target_agent.unroll(batch.agent_outputs.action, batch.env_outputs,
                                        batch.agent_state)[0]
  actions = batch.agent_outputs.action[1:]
  done = batch.env_outputs.done[1:]
  rewards = losses.clip_rewards(batch.env_outputs.reward[1:], config.reward_clipping)
  discounts = tf.cast(~done, tf.float32) * config.discounting
  y = targets(method, target_q_values.policy_logits, actions, next_actions, rewards, discounts)
  taken = tf.gather(q_values.policy_logits[:-1], actions, batch_dims=2)
  total = .5 * tf.reduce_sum(tf.square(y - taken))
  return total, {'q_loss': total, 'total_loss': total, 'mean_q': tf.reduce_mean(taken)}
