"""Convolutional torsos: float frames [B, H, W, C] (`Agent.torso_input`) -> features [B, 256] (Nature:
[B, 512]).

Shallow and deep follow paper Figure 3. The shallow torso uses VALID padding, as in the DQN networks
it comes from; with SAME padding the shallow DMLab agent would have about 1.5M parameters instead
of the paper's 1.2M. The deep torso's padding is SAME, as in the original release.

Weights start as Sonnet's default (a normal of stddev 1/sqrt(fan_in) truncated at two: variance
0.77/fan_in), as the original's Sonnet 1 modules did; `he_init` gives every torso layer variance
2/fan_in instead (He et al. 2015), which keeps the scale of ReLU activations from layer to layer:
with the default, the shallow torso's output on Pong frames starts about 4x smaller.
"""
import sonnet as snt
import tensorflow as tf


def _w_init(he_init):
  """None (Sonnet's default) or He et al.'s variance-2/fan_in initialiser."""
  return snt.initializers.VarianceScaling(2., 'fan_in', 'truncated_normal') if he_init else None


class ShallowTorso(snt.Module):
  """Conv 16 8x8/4, relu, conv 32 4x4/2, relu, flatten, FC 256, relu."""

  def __init__(self, he_init=False, name='shallow_torso'):
    super().__init__(name=name)
    w_init = _w_init(he_init)
    self._conv1 = snt.Conv2D(16, 8, stride=4, padding='VALID', w_init=w_init, name='conv_1')
    self._conv2 = snt.Conv2D(32, 4, stride=2, padding='VALID', w_init=w_init, name='conv_2')
    self._fc = snt.Linear(256, w_init=w_init, name='fc')

  def __call__(self, frames):
    return self.activations(frames)['fc']

  def activations(self, frames):
    """Every layer's output after its ReLU, by layer name; 'fc' is the torso's output."""
    conv_1 = tf.nn.relu(self._conv1(frames))
    conv_2 = tf.nn.relu(self._conv2(conv_1))
    return {'conv_1': conv_1, 'conv_2': conv_2, 'fc': tf.nn.relu(self._fc(snt.flatten(conv_2)))}


class NatureTorso(snt.Module):
  """Conv 32 8x8/4, relu, conv 64 4x4/2, relu, conv 64 3x3/1, relu, flatten, FC 512, relu.

  Not in the IMPALA paper: the Nature DQN network (Mnih et al. 2015) that TorchBeast's Atari agent
  uses, for comparing Atari learning speed with a larger torso than the paper's shallow one.
  """

  def __init__(self, he_init=False, name='nature_torso'):
    super().__init__(name=name)
    w_init = _w_init(he_init)
    self._convs = [snt.Conv2D(channels, kernel, stride=stride, padding='VALID', w_init=w_init,
                              name=f'conv_{i + 1}')
                   for i, (channels, kernel, stride) in enumerate(((32, 8, 4), (64, 4, 2), (64, 3, 1)))]
    self._fc = snt.Linear(512, w_init=w_init, name='fc')

  def __call__(self, frames):
    return self.activations(frames)['fc']

  def activations(self, frames):
    """Every layer's output after its ReLU, by layer name; 'fc' is the torso's output."""
    outputs, x = {}, frames
    for conv in self._convs:
      x = outputs[conv.name] = tf.nn.relu(conv(x))
    outputs['fc'] = tf.nn.relu(self._fc(snt.flatten(x)))
    return outputs


class ResidualBlock(snt.Module):
  """x + conv(relu(conv(relu(x)))), both convs 3x3 SAME with the input's channel count.

  The second conv's bias is added after the skip sum (the same sum: x + (conv(h) + b) = (x + conv(h))
  + b). Written as a conv with bias followed by the skip addition, TensorFlow's oneDNN build (its
  default on x86 CPUs) has Grappler's remapper fuse conv, bias and addition into one op although the
  sum also feeds the next block, and the remapper then fails: every deep-network graph logged
  "remapper failed: INVALID_ARGUMENT: Mutation::Apply error: fanout
  'deep_torso/section_1_residual_1/add' exist for missing node ...". In this order no such fusion is
  tried and nothing is logged (tests/test_networks.py checks both); the learner's step measured
  within 3% of the fused one, inside the rounds' spread (docs/performance.md).
  """

  def __init__(self, channels, w_init=None, name=None):
    super().__init__(name=name)
    self._conv1 = snt.Conv2D(channels, 3, stride=1, padding='SAME', w_init=w_init, name='conv_1')
    self._conv2 = snt.Conv2D(channels, 3, stride=1, padding='SAME', w_init=w_init, with_bias=False,
                             name='conv_2')
    self._channels = channels

  @snt.once
  def _initialize(self, x):
    # As Sonnet's own biases: zeros, of the input's dtype, made at the first call.
    self._conv2_b = tf.Variable(tf.zeros([self._channels], x.dtype), name='conv_2_b')

  def __call__(self, x):
    self._initialize(x)
    y = self._conv1(tf.nn.relu(x))
    y = self._conv2(tf.nn.relu(y))
    return tf.nn.bias_add(x + y, self._conv2_b)


class DeepTorso(snt.Module):
  """Three sections (16, 32, 32 channels) of conv, max-pool /2 and two residual blocks; 15 convs."""

  def __init__(self, he_init=False, name='deep_torso'):
    super().__init__(name=name)
    w_init = _w_init(he_init)
    self._sections = []
    for i, channels in enumerate((16, 32, 32)):
      conv = snt.Conv2D(channels, 3, stride=1, padding='SAME', w_init=w_init, name=f'section_{i}_conv')
      blocks = [ResidualBlock(channels, w_init, name=f'section_{i}_residual_{j}') for j in range(2)]
      self._sections.append((conv, blocks))
    self._fc = snt.Linear(256, w_init=w_init, name='fc')

  def __call__(self, frames):
    x = frames
    for conv, blocks in self._sections:
      x = tf.nn.max_pool2d(conv(x), ksize=3, strides=2, padding='SAME')
      for block in blocks:
        x = block(x)
    x = snt.flatten(tf.nn.relu(x))
    return tf.nn.relu(self._fc(x))

