"""The levels a run plays: one, or a multi-task suite's (DMLab-30, Atari-57) dealt out to the actors."""
import atari57
import dmlab30


def actor_levels(config):
  """The level each actor plays in train mode: actor i gets level i mod N of a multi-task suite."""
  if config.level_name == 'dmlab30':
    levels = dmlab30.TRAINING_LEVELS
  elif config.level_name == 'atari57':
    levels = tuple('atari/' + game for game in atari57.GAMES)
  else:
    levels = (config.level_name,)
  return [levels[i % len(levels)] for i in range(config.num_actors)]


def test_levels(config):
  """The levels test mode plays: DMLab-30's hold-out test levels, every Atari-57 game, or the one."""
  if config.level_name == 'dmlab30':
    return list(dmlab30.TEST_LEVELS)
  if config.level_name == 'atari57':
    return ['atari/' + game for game in atari57.GAMES]
  return [config.level_name]
