"""PopArt's value head (van Hasselt et al. 2016; per task: Hessel et al. 2019): a value output per
task, each normalised by its task's statistics, and the rescaling that keeps its unnormalised outputs
as they were whenever those statistics move ("preserving outputs precisely").

Task i's value is v_i(s) = sigma_i * n_i(s) + mu_i, where n(s) = W h(s) + b is a linear layer on the
core's output h(s) and sigma_i = sqrt(nu_i - mu_i^2), from the first and second moments mu_i and nu_i
of the task's value targets, kept within `scale_bounds`. When the statistics become mu', nu'
(sigma'), `set_statistics` rescales column i of the layer, W'_i = W_i sigma_i / sigma'_i and
b'_i = (sigma_i b_i + mu_i - mu'_i) / sigma'_i, so that v_i(s) is unchanged for every s.

The statistics are float64 variables: float32 would lose nu - mu^2 when the scale is small beside
the mean (nu = 1e8 + 1 is 1e8 in float32). They are not trainable: the learner sets them
(runtime/popart.py); they are checkpointed with the weights.
"""
import sonnet as snt
import tensorflow as tf


class PopArtValue(snt.Module):
  """Unnormalised values [B, N] of N tasks from core outputs [B, C]; `normalized` gives n(s)."""

  def __init__(self, num_tasks, scale_bounds, name='popart_value'):
    super().__init__(name=name)
    self.num_tasks = num_tasks
    self._scale_bounds = tuple(float(b) for b in scale_bounds)
    self._linear = snt.Linear(num_tasks, name='normalized_value')
    # mu = 0, sigma = 1 (nu = 1) at first: the unnormalised outputs start as IMPALA's would.
    self.mean = tf.Variable(tf.zeros([num_tasks], tf.float64), trainable=False, name='mean')
    self.second_moment = tf.Variable(tf.ones([num_tasks], tf.float64), trainable=False,
                                     name='second_moment')

  def scale(self, mean=None, second_moment=None):
    """sigma = sqrt(nu - mu^2), within the bounds, of the statistics given (default: the current)."""
    mean = self.mean if mean is None else mean
    second_moment = self.second_moment if second_moment is None else second_moment
    variance = tf.maximum(second_moment - tf.square(mean), 0.)  # Rounding can make it negative.
    return tf.clip_by_value(tf.sqrt(variance), *self._scale_bounds)

  def normalized(self, core_output):
    """n(s): the normalised values [B, N], which the learner's loss fits."""
    return self._linear(core_output)

  def __call__(self, core_output):
    """v(s) = sigma * n(s) + mu: the unnormalised values [B, N], in the layer's dtype (float32)."""
    normalized = self.normalized(core_output)
    return (normalized * tf.cast(self.scale(), normalized.dtype) +
            tf.cast(self.mean, normalized.dtype))

  def set_statistics(self, mean, second_moment):
    """Makes (mean, second_moment), float64 [N], the statistics, rescaling the layer so that the
    unnormalised outputs stay what they were. Call it after the layer exists (a first call)."""
    mean = tf.convert_to_tensor(mean, tf.float64)
    second_moment = tf.convert_to_tensor(second_moment, tf.float64)
    old_mean, old_scale = tf.identity(self.mean), self.scale()
    new_scale = self.scale(mean, second_moment)
    # In float64, so that the rescaled weights are the exact ones rounded once to their dtype.
    w, b = self._linear.w, self._linear.b
    w.assign(tf.cast(tf.cast(w, tf.float64) * (old_scale / new_scale), w.dtype))
    b.assign(tf.cast((old_scale * tf.cast(b, tf.float64) + old_mean - mean) / new_scale, b.dtype))
    self.mean.assign(mean)
    self.second_moment.assign(second_moment)
