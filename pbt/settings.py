"""Checks of the PBT settings (runtime.config declares them), before any work starts."""


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
