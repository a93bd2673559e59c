"""Population-based training's settings (`Settings`; configuration.py adds them to the runtime's)
and their checks, before any work starts."""
import dataclasses

from runtime import config as config_lib


@dataclasses.dataclass(frozen=True)
class Settings:
  """The settings of population-based training (the paper's appendix F)."""
  pbt_population: int = config_lib.setting(
      0, 'Members of a population-based training run (the paper: 24), each a whole training run in '
      '<logdir>/member_<i>/ with its own actors and --total_environment_frames; 0: no PBT.',
      check=config_lib.NON_NEGATIVE, run=True)
  pbt_burn_in_frames: int = config_lib.setting(
      20_000_000, 'Frames before a member evolves (the paper: 20M).', check=config_lib.NON_NEGATIVE)
  pbt_ready_episodes: int = config_lib.setting(
      5_000, 'Episodes a member finishes between two evolution steps (the paper: 5,000).',
      check=config_lib.POSITIVE)
  pbt_threshold: float = config_lib.setting(
      5., "How much fitter a member drawn at random must be for another to copy it (the paper: 5, "
      'in points of human-normalised score, %; in points of mean return on levels without human '
      'scores).', check=config_lib.NON_NEGATIVE)
  pbt_members: str = config_lib.setting(
      '', "Members this machine runs (comma-separated indices; '': all), when several machines share "
      "the logdir's filesystem.")
  pbt_member: int = config_lib.setting(
      -1, "Test mode on a PBT run's logdir: the member to evaluate (-1: the fittest). Set by the "
      'controller on each member it starts: that run keeps the hyperparameters it evolved when it '
      'resumes.')


def member_indices(values):
  """The members this machine runs (--pbt_members), as a sorted list of indices."""
  if not values['pbt_members']:
    return list(range(values['pbt_population']))
  try:
    members = sorted({int(i) for i in values['pbt_members'].split(',')})
  except ValueError:
    members = None
  if not members or not all(0 <= i < values['pbt_population'] for i in members):
    raise ValueError(f'--pbt_members must be comma-separated member indices in [0, '
                     f'--pbt_population={values["pbt_population"]}), got {values["pbt_members"]!r}')
  return members


def resolve(values, given):
  """Checks the PBT settings (`check`); a member (--pbt_member, set by its controller) takes the
  hyperparameters its controller directs (runtime.hyperparameters)."""
  del given  # Nothing PBT decides depends on which settings were given.
  check(values)
  values['hyperparameter_directives'] = values['pbt_member'] >= 0


def check(values):
  """Refuses, naming the flag, settings a population cannot run with."""
  population = values['pbt_population']
  if population == 0:
    if values['pbt_members']:
      raise ValueError('--pbt_members needs --pbt_population')
    return
  if population < 2:
    raise ValueError(f'--pbt_population must be 0 (no PBT) or at least 2, got {population}')
  for name, allowed in (('agent', 'impala'), ('optimizer', 'rmsprop'), ('task', -1),
                        ('local_cluster', False)):
    if values[name] != allowed:
      raise ValueError(f'--pbt_population: members are IMPALA runs on one machine each, with '
                       f'RMSProp (its epsilon evolves): --{name} must be {allowed}, got {values[name]}')
  if not -1 <= values['pbt_member'] < population:
    raise ValueError(f'--pbt_member must be -1 (the fittest) or in [0, --pbt_population={population}), '
                     f'got {values["pbt_member"]}')
  member_indices(values)
