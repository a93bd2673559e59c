"""Level names to environments: 'atari/<game>', 'synthetic/dmlab', 'synthetic/cue_<shift>_x<scale>',
anything else DeepMind Lab."""
from environments import dmlab, synthetic, synthetic_cue
from environments.config import EnvConfig

ATARI_PREFIX = 'atari/'
_DEFAULT_CONFIG = EnvConfig()


def _atari():
  # Imported on demand: ale-py and OpenCV add a few tens of MB to each DeepMind Lab process.
  from environments import atari  # pylint: disable=import-outside-toplevel
  return atari


def _check_seed(seed):
  # ALE takes the seed as a C int; numpy's RandomState takes any of these.
  if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
    raise ValueError(f'seed must be an int in [0, 2**31), got {seed!r}')


def create_environment(level_name, seed=1, is_test=False, config=_DEFAULT_CONFIG):
  """The environment for `level_name`, in this process (see `environments.base.Environment`)."""
  _check_seed(seed)
  if level_name.startswith(ATARI_PREFIX):
    return _atari().Atari(level_name[len(ATARI_PREFIX):], seed, is_test, config)
  if level_name == synthetic.LEVEL_NAME:
    return synthetic.SyntheticDmLab(seed, config)
  if level_name.startswith(synthetic_cue.PREFIX):
    return synthetic_cue.SyntheticCue(level_name, seed, config)
  return dmlab.DmLab(level_name, seed, is_test, config)


def environment_spec(level_name, config=_DEFAULT_CONFIG):
  """The EnvSpec of `level_name`'s environments, without creating one (Atari opens the ROM briefly)."""
  if level_name.startswith(ATARI_PREFIX):
    return _atari().environment_spec(level_name[len(ATARI_PREFIX):], config)
  if level_name.startswith(synthetic_cue.PREFIX):
    return synthetic_cue.environment_spec(level_name, config)
  # The synthetic level has DeepMind Lab's shapes by design.
  return dmlab.environment_spec(config)
