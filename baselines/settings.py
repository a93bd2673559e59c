"""The baselines' settings: the agents `--agent` chooses between, the baselines' own settings
(`Settings`; configuration.py adds them to the runtime's), and what a baseline decides itself
(`resolve`, when a Config is built, before any work starts)."""
import dataclasses

from runtime import config as config_lib
from runtime import presets

# IMPALA, then the baselines: A3C and batched A2C (the paper's Table 1), and the A3C paper's
# asynchronous value-based methods.
AGENTS = ('impala', 'a3c', 'a2c', 'one_step_q', 'one_step_sarsa', 'n_step_q')
Q_AGENTS = ('one_step_q', 'one_step_sarsa', 'n_step_q')
ASYNC_AGENTS = ('a3c',) + Q_AGENTS  # Actor-learner threads, each updating the shared weights.
# On Atari the baselines take the paper's Atari values (on atari57 too: the experts', not the
# multi-task agent's) but for the A3C paper's t_max = 5 and RMSProp epsilon 0.1.
A3C_ATARI_HYPERPARAMETERS = dict(presets.ATARI_HYPERPARAMETERS, unroll_length=5, epsilon=0.1)


@dataclasses.dataclass(frozen=True)
class Settings:
  """The settings of the agent and of the baselines, beside the runtime's (runtime.config)."""
  agent: str = config_lib.setting(
      'impala', 'The agent: IMPALA, or a baseline of the paper (A3C, batched A2C) or of the A3C paper '
      '(asynchronous one-step Q, one-step Sarsa, n-step Q); see baselines/.',
      choices=AGENTS, run=True)
  a2c_sync: str = config_lib.setting(
      'trajectory', "--agent=a2c: 'step' steps every actor's environment together with one inference "
      "call; 'trajectory' lets each actor (its own thread) play its unroll alone: the paper's Table 1 "
      'variants.', choices=('step', 'trajectory'))
  target_update_frames: int = config_lib.setting(
      40_000, 'Q-learning agents: frames between target network updates.', check=config_lib.POSITIVE)
  exploration_anneal_frames: int = config_lib.setting(
      4_000_000, "Q-learning agents: frames over which each thread's epsilon anneals from 1 to its "
      'final value.', check=config_lib.POSITIVE)


def atari_preset(values):
  """The paper's values an Atari level takes for the settings not given: IMPALA's (runtime.presets),
  or the baselines'."""
  if values['agent'] == 'impala' or not presets.is_atari(values['level_name']):
    return presets.atari_preset(values)
  return A3C_ATARI_HYPERPARAMETERS


def resolve(values, given):
  """Sets in `values` what a baseline agent decides itself; refuses settings `given` that contradict
  it, with a ValueError naming the flag."""
  agent = values['agent']
  values['synchronous_actors'] = agent == 'a2c'  # Batched A2C's actors wait for each update.
  if agent == 'impala':
    return
  if values['popart']:
    raise ValueError(f'--popart normalises the targets of IMPALA\'s learner (PopArt-IMPALA): '
                     f'--agent={agent} has no such learner; leave --popart out or use '
                     '--agent=impala')
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
  if values['replay_proportion']:
    raise ValueError(f'--replay_proportion={values["replay_proportion"]}: replay is for '
                     f'--agent=impala, not --agent={agent}')
