"""The agents `--agent` chooses between, and what a baseline decides itself (runtime.config declares
the settings; `resolve` runs when a Config is built, before any work starts)."""

# IMPALA, then the baselines: A3C and batched A2C (the paper's Table 1), and the A3C paper's
# asynchronous value-based methods.
AGENTS = ('impala', 'a3c', 'a2c', 'one_step_q', 'one_step_sarsa', 'n_step_q')
Q_AGENTS = ('one_step_q', 'one_step_sarsa', 'n_step_q')
ASYNC_AGENTS = ('a3c',) + Q_AGENTS  # Actor-learner threads, each updating the shared weights.


def resolve(values, given):
  """Sets in `values` what a baseline agent decides itself; refuses settings `given` that contradict
  it, with a ValueError naming the flag."""
  agent = values['agent']
  if agent == 'impala':
    return
  if values['task'] != -1 or values['local_cluster']:
    raise ValueError(f'--agent={agent} trains on one machine: leave --task at -1 and --local_cluster '
                     'off (only IMPALA runs distributed)')
  if agent in ASYNC_AGENTS and values['learner_replicas'] != 1:
    raise ValueError(f'--agent={agent} updates from each thread on the CPU: leave --learner_replicas '
                     'at 1')
  decided = {'correction': 'none'}  # On-policy: actors act with the weights the update uses.
  if agent == 'a2c':
    # One unroll from every actor per update, played by one thread ('step') or a thread each.
    decided.update(batch_size=values['num_actors'],
                   actor_threads=1 if values['a2c_sync'] == 'step' else values['num_actors'])
  else:
    decided.update(batch_size=1, actor_threads=values['num_actors'])  # A thread per actor.
  for name, value in decided.items():
    if name in given and given[name] != value:
      raise ValueError(f'--{name}={given[name]} does not fit --agent={agent}, which uses '
                       f'{value} (see baselines/)')
  values.update(decided)
  if values['actor_threads'] > 1 and values['envs_per_process'] != 1:
    raise ValueError(f'--agent={agent} plays each environment from a thread of its own: '
                     f'--envs_per_process must be 1, got {values["envs_per_process"]}')
