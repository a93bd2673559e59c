"""PopArt (Hessel et al. 2019, "Multi-task Deep Reinforcement Learning with PopArt"): its settings,
the task of each unroll, the statistics' update and the scale-invariant update the loss makes.

With --popart the agent has a value per task (a level of the run's suite or list, runtime.levels.tasks;
networks/popart.py), and each learner step, before the gradient:
1. V-trace runs on the unnormalised values of each unroll's task, v = sigma n(s) + mu, as IMPALA's.
2. Each task's first and second moments mu, nu move towards its V-trace targets in the batch: every
   unroll of the task is one step of the moving averages, of size `popart_step_size` (beta), towards
   the mean over the unroll of v_s and of v_s^2 (`update_statistics`). With several learner replicas
   the sums are the whole batch's, so every replica makes the same update.
3. The value head is rescaled so that its unnormalised outputs do not change (networks/popart.py).
4. The loss fits n(s) to the normalised targets (v_s - mu) / sigma, and the policy gradient uses
   the normalised advantages rho_s ((r_s + gamma v_{s+1} - mu) / sigma - n(s)), with the new
   statistics of the unroll's task (`normalized_errors`).
docs/popart.md gives each choice with the paper's section, and what was chosen where it is silent.
"""
import dataclasses

import sonnet as snt
import tensorflow as tf

from runtime import fields
from runtime import levels as levels_lib
from runtime import replicas


@dataclasses.dataclass(frozen=True)
class Settings:
  """PopArt's settings; the runtime's Config has them (runtime/config.py)."""
  popart: bool = fields.setting(
      False, "PopArt (Hessel et al. 2019): a value output per level of the run's suite or list, and "
      "each level's value targets and policy-gradient advantages normalised by that level's running "
      "statistics, the value head rescaled so that its unnormalised outputs stay as they were. On "
      "Atari the rewards are then unclipped (--reward_clipping=none), as the paper's, unless given. "
      'docs/popart.md.', run=True)
  popart_step_size: float = fields.setting(
      3e-4, "PopArt: the step size beta of each level's moving averages of its V-trace targets, a "
      'step per unroll of the level (the paper: 3e-4).', check=fields.STEP_SIZE)
  popart_scale_min: float = fields.setting(
      1e-4, "PopArt: the lowest a level's scale sigma may be (the paper: 1e-4).",
      check=fields.POSITIVE)
  popart_scale_max: float = fields.setting(
      1e6, "PopArt: the highest a level's scale sigma may be (the paper: 1e6).",
      check=fields.POSITIVE)


def check_settings(values, given):
  """Refuses, naming the flag, PopArt's settings given other values than their defaults without
  --popart (they would do nothing), and bounds that are not."""
  if not values['popart']:
    stray = sorted(field.name for field in dataclasses.fields(Settings)
                   if field.name in given and given[field.name] != field.default)
    if stray:
      raise ValueError(f'--{stray[0]} is a setting of --popart, which is off: give --popart too')
    return
  if values['popart_scale_min'] >= values['popart_scale_max']:
    raise ValueError(f'--popart_scale_min={values["popart_scale_min"]} must be below '
                     f'--popart_scale_max={values["popart_scale_max"]}')


def update_statistics(head, targets, tasks, step_size):
  """Moves each task's statistics towards the V-trace targets of its unrolls and rescales `head`
  (a networks.popart.PopArtValue) to keep its outputs. targets: [T, B]; tasks: int32 [B].

  Task i with k unrolls in the whole batch (every replica's): mu_i <- d mu_i + (1 - d) m_i with
  d = (1 - beta)^k and m_i the mean of the unrolls' v_s, the same for nu_i with v_s^2: k steps of
  size beta towards the unrolls' mean, which k steps one unroll at a time make up to O(beta^2), in
  any order. A task without an unroll keeps its statistics.
  """
  one_hot = tf.one_hot(tasks, head.num_tasks, dtype=tf.float64)  # [B, N]
  targets = tf.cast(targets, tf.float64)
  sums = replicas.sum_over_replicas({
      'unrolls': tf.reduce_sum(one_hot, axis=0),
      'mean': tf.linalg.matvec(one_hot, tf.reduce_mean(targets, axis=0), transpose_a=True),
      'square': tf.linalg.matvec(one_hot, tf.reduce_mean(tf.square(targets), axis=0),
                                 transpose_a=True),
  })
  keep = tf.pow(tf.constant(1. - step_size, tf.float64), sums['unrolls'])
  mean = keep * head.mean + (1. - keep) * tf.math.divide_no_nan(sums['mean'], sums['unrolls'])
  second_moment = (keep * head.second_moment +
                   (1. - keep) * tf.math.divide_no_nan(sums['square'], sums['unrolls']))
  head.set_statistics(mean, second_moment)


class PopArt:
  """What the learner's loss does with PopArt (the module's docstring), for the run of `config`."""

  def __init__(self, config):
    self.tasks = tuple(levels_lib.tasks(config))
    self._names = tf.constant(self.tasks)
    self._step_size = config.popart_step_size

  def task_ids(self, level_names):
    """int32 [B]: the task of each unroll, from the name of the level it was played on, [B]."""
    # Compared with every task's name ([B, N], N <= 57): no lookup table, a resource that each
    # replica's step would have to share.
    matches = tf.equal(level_names[:, None], self._names[None, :])
    known = tf.debugging.Assert(tf.reduce_all(tf.reduce_any(matches, axis=1)), [
        'PopArt: an unroll of a level that is none of the run\'s tasks:', level_names])
    with tf.control_dependencies([known]):
      return tf.argmax(tf.cast(matches, tf.int32), axis=1, output_type=tf.int32)

  @staticmethod
  def task_values(values, tasks):
    """Each unroll's task's values [T, B] of the baselines [T, B, N] (or [T, B] for one task)."""
    if values.shape.rank == 2:
      return values
    return tf.reduce_sum(values * tf.one_hot(tasks, values.shape[-1], dtype=values.dtype), axis=-1)

  def normalized_errors(self, head, core_outputs, vtrace_returns, tasks):
    """Updates the statistics with the V-trace targets and rescales `head` (update_statistics); then
    returns the normalised value errors (v_s - mu) / sigma - n(s) [T, B], n(s) read from the
    rescaled head on `core_outputs` [T, B, C], and the normalised policy-gradient advantages [T, B],
    with the new statistics of each unroll's task."""
    update_statistics(head, vtrace_returns.vs, tasks, self._step_size)
    one_hot = tf.one_hot(tasks, head.num_tasks)  # [B, N]
    mean = tf.reduce_sum(tf.cast(head.mean, tf.float32) * one_hot, axis=-1)  # [B]
    scale = tf.reduce_sum(tf.cast(head.scale(), tf.float32) * one_hot, axis=-1)
    normalized = tf.reduce_sum(snt.BatchApply(head.normalized)(core_outputs) * one_hot, axis=-1)
    # V-trace's advantage is rho_s (r_s + gamma v_{s+1} - V(x_s)), and the rescaled head keeps
    # V(x_s) = sigma n(s) + mu: divided by sigma it is rho_s ((r_s + gamma v_{s+1} - mu) / sigma
    # - n(s)), the paper's normalised advantage.
    return ((vtrace_returns.vs - mean) / scale - normalized,
            vtrace_returns.pg_advantages / scale)

  def statistics(self, head):
    """{'<level>/popart_mean': mu, '<level>/popart_scale': sigma} of every task, for TensorBoard."""
    means, scales = head.mean.numpy(), head.scale().numpy()
    summaries = {}
    for task, mean, scale in zip(self.tasks, means, scales):
      summaries[f'{task}/popart_mean'] = float(mean)
      summaries[f'{task}/popart_scale'] = float(scale)
    return summaries
