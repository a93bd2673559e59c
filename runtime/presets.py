"""The paper's settings for Atari (appendix G.1), which Atari runs take for the settings not given."""
from absl import logging

# Paper appendix G.1 (Atari experts), for the settings not given.
ATARI_HYPERPARAMETERS = dict(
    network='shallow', use_lstm=False, unroll_length=20, batch_size=32, entropy_cost=0.01,
    learning_rate=0.0006, epsilon=0.01, gradient_clip_norm=40., total_environment_frames=int(2e8))
# The paper's Atari-57 multi-task agent: deep and feed-forward, all 18 actions (set in `apply`), the
# experts' 200M frames for each of the 57 games.
ATARI57_HYPERPARAMETERS = dict(ATARI_HYPERPARAMETERS, network='deep',
                               total_environment_frames=57 * int(2e8))


def is_atari(level_name):
  return level_name == 'atari57' or level_name.startswith('atari/')


def atari_preset(values):
  """IMPALA's preset for the level of `values` (every setting, by flag name): the Atari-57
  multi-task agent's, an Atari expert's, or none."""
  if values['level_name'] == 'atari57':
    return ATARI57_HYPERPARAMETERS
  return ATARI_HYPERPARAMETERS if is_atari(values['level_name']) else {}


def apply(values, given, preset):
  """Sets in `values` (every setting, by flag name) the `preset`'s settings not in `given`, and all
  18 actions on atari57; warns of settings given that depart from the Atari-57 multi-task
  agent's."""
  if values['level_name'] == 'atari57':
    values['atari_full_action_space'] = True
  if preset == ATARI57_HYPERPARAMETERS:
    for name in sorted(set(preset) & set(given)):
      if given[name] != preset[name]:
        logging.warning("--%s=%s departs from the paper's Atari-57 multi-task agent (%s).", name,
                        given[name], preset[name])
  defaults = {k: v for k, v in preset.items() if k not in given}
  values.update(defaults)
  if defaults:
    logging.info("Atari level: the paper's Atari values for flags not given: %s", defaults)
