"""The hyperparameters population-based training evolves, as variables of the running learner, and the
files through which a PBT controller (pbt/) changes them while the learner trains.

The learning rate (before annealing), the entropy cost, RMSProp's epsilon and the gradient clipping
threshold live in `Hyperparameters`, a tf.Module the checkpoint holds: the compiled training step reads
them at each update, so a new value takes effect at the next step, with no restart or retrace.

A learner with `config.hyperparameter_directives` (pbt/ sets it for a population member, started
with --pbt_member=i) talks to its controller through two files in its logdir:
  pbt_directive.json      written by the controller: the decision's number, the hyperparameters to
                          take, and the checkpoint to copy weights and optimiser state from (or none).
  hyperparameters.json    written by the member: the values it trains with and the last decision it
                          applied; the controller reads it to copy them and to know a decision landed.
"""
import json
import os
import tempfile

from absl import logging
import tensorflow as tf

EVOLVED = ('learning_rate', 'entropy_cost', 'epsilon', 'gradient_clip_norm')
DIRECTIVE_FILE = 'pbt_directive.json'
VALUES_FILE = 'hyperparameters.json'


class Hyperparameters(tf.Module):
  """The evolvable hyperparameters of a run, starting at its configuration's."""

  def __init__(self, config):
    super().__init__(name='hyperparameters')
    for name in EVOLVED:
      setattr(self, name, tf.Variable(float(getattr(config, name)), dtype=tf.float32,
                                      trainable=False, name=name))
    # The last PBT decision applied, so that a member restarted from an older checkpoint applies it again.
    self.decision = tf.Variable(0, dtype=tf.int64, trainable=False, name='decision')

  def values(self):
    return {name: float(getattr(self, name).numpy()) for name in EVOLVED}

  def assign(self, values):
    for name, value in values.items():
      getattr(self, name).assign(value)


def write_json(path, value):
  """Writes `value` as JSON atomically: a reader never sees half a file."""
  with tempfile.NamedTemporaryFile('w', dir=os.path.dirname(path), suffix='.tmp', delete=False) as f:
    json.dump(value, f, indent=2, sort_keys=True)
  os.chmod(f.name, 0o644)  # A temporary file is private; the record is as readable as its folder.
  os.replace(f.name, path)


def read_json(path):
  """The JSON value at `path`, or None if there is no file."""
  try:
    with open(path) as f:
      return json.load(f)
  except FileNotFoundError:
    return None


class MemberLink:
  """A population member's side of the files above: applies the controller's decisions to the learner."""

  def __init__(self, logdir, learner, checkpoints):
    self._logdir = logdir
    self._learner = learner
    self._checkpoints = checkpoints
    self._publish()

  def _publish(self):
    hyper = self._learner.hyperparameters
    write_json(os.path.join(self._logdir, VALUES_FILE),
               dict(hyper.values(), decision=int(hyper.decision.numpy()),
                    frames=int(self._learner.num_env_frames.numpy())))

  def poll(self):
    """Applies a decision not applied yet: copies weights and optimiser state if it says so, takes
    its hyperparameters, and checkpoints at once so that a crash cannot undo it."""
    directive = read_json(os.path.join(self._logdir, DIRECTIVE_FILE))
    hyper = self._learner.hyperparameters
    if directive is None or directive['decision'] <= int(hyper.decision.numpy()):
      return False
    if directive['copy_from']:
      # Weights and optimiser state only: the member keeps its own frame count, and so its annealing.
      tf.train.Checkpoint(agent=self._learner.agent, optimizer=self._learner.optimizer).read(
          directive['copy_from']).expect_partial()
    hyper.assign(directive['hyperparameters'])
    hyper.decision.assign(directive['decision'])
    self._checkpoints.save(checkpoint_number=int(self._learner.num_env_frames.numpy()))
    self._publish()
    logging.info('PBT decision %d: %s; hyperparameters now %s.', directive['decision'],
                 f'copied {directive["copy_from"]}' if directive['copy_from'] else 'kept the weights',
                 ', '.join(f'{k} {v:.3g}' for k, v in sorted(directive['hyperparameters'].items())))
    return True
