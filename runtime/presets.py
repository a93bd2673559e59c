"""The paper's settings for Atari (appendix G.1), which Atari runs take for the settings not given."""
from absl import logging

from runtime import levels as levels_lib

# Paper appendix G.1 (Atari experts), for the settings not given.
ATARI_HYPERPARAMETERS = dict(
    network='shallow', use_lstm=False, unroll_length=20, batch_size=32, entropy_cost=0.01,
    learning_rate=0.0006, epsilon=0.01, gradient_clip_norm=40., total_environment_frames=int(2e8))
# The paper's Atari-57 multi-task agent: deep and feed-forward, all 18 actions (set in `apply`), the
# experts' 200M frames for each of the 57 games.
ATARI57_HYPERPARAMETERS = dict(ATARI_HYPERPARAMETERS, network='deep',
                               total_environment_frames=57 * int(2e8))


def is_atari(level_name):
  """Whether `level_name` is an Atari game, atari57, or a list of Atari games."""
  return level_name == 'atari57' or all(
      level.startswith('atari/') for level in levels_lib.listed_levels(level_name))


def atari_preset(values):
  """IMPALA's preset for the level of `values` (every setting, by flag name): the Atari-57
  multi-task agent's, an Atari expert's (for a list of games too), or none. With --popart, the
  rewards are unclipped, as the PopArt paper's Atari agents (docs/popart.md)."""
  if not is_atari(values['level_name']):
    return {}
  preset = ATARI57_HYPERPARAMETERS if values['level_name'] == 'atari57' else ATARI_HYPERPARAMETERS
  return dict(preset, reward_clipping='none') if values['popart'] else preset


def apply(values, given, preset):
  """Sets in `values` (every setting, by flag name) the `preset`'s settings not in `given`, and all
  18 actions on atari57 and lists of games (one network plays them all); warns of settings given
  that depart from the Atari-57 multi-task agent's."""
  if values['level_name'] == 'atari57' or (
      is_atari(values['level_name']) and len(levels_lib.listed_levels(values['level_name'])) > 1):
    values['atari_full_action_space'] = True
  if ATARI57_HYPERPARAMETERS.items() <= preset.items():  # IMPALA's (or PopArt's) Atari-57 agent.
    for name in sorted(set(preset) & set(given)):
      if given[name] != preset[name]:
        logging.warning("--%s=%s departs from the paper's Atari-57 multi-task agent (%s).", name,
                        given[name], preset[name])
  defaults = {k: v for k, v in preset.items() if k not in given}
  values.update(defaults)
  if defaults:
    logging.info("Atari level: the paper's Atari values for flags not given: %s", defaults)
