"""The paper's PBT rules (appendix F, Tables D.1 and G.1): a member's first hyperparameters, and each
evolution step's exploit (copy a fitter member) and explore (perturb) decisions.

Pure functions of the values and a NumPy Generator, so the tests control every draw.
"""
import math

# Table D.1: log-uniform ranges and RMSProp epsilon's choices.
LEARNING_RATE_RANGE = (5e-6, 5e-3)
ENTROPY_COST_RANGE = (5e-5, 1e-2)
EPSILON_CHOICES = (1e-1, 1e-3, 1e-5, 1e-7)
ATARI_GRADIENT_CLIP_NORM = 40.  # Table G.1: the multi-task Atari agent also evolves its clipping.
PERTURB_FACTOR = 1.2
PERTURB_PROBABILITY = 0.33


def evolved_names(level_name):
  """The hyperparameters a population evolves: the gradient clipping threshold too for Atari-57."""
  names = ['learning_rate', 'entropy_cost', 'epsilon']
  return names + ['gradient_clip_norm'] if level_name == 'atari57' else names


def _log_uniform(rng, low, high):
  return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def initial_hyperparameters(rng, level_name):
  """A member's first values, drawn from Table D.1's ranges (clipping starts at Atari's 40)."""
  values = {'learning_rate': _log_uniform(rng, *LEARNING_RATE_RANGE),
            'entropy_cost': _log_uniform(rng, *ENTROPY_COST_RANGE),
            'epsilon': float(EPSILON_CHOICES[rng.integers(len(EPSILON_CHOICES))])}
  if level_name == 'atari57':
    values['gradient_clip_norm'] = ATARI_GRADIENT_CLIP_NORM
  return values


def should_copy(own_fitness, partner_fitness, threshold):
  """Exploit: copy the partner if its fitness is higher by more than `threshold` (absolute)."""
  if own_fitness is None or partner_fitness is None:
    return False  # A member with no finished episode yet is compared with nothing.
  return partner_fitness - own_fitness > threshold


def explore(rng, values, names):
  """Explore: each of `names` multiplied by 1.2 or 1/1.2 with probability 0.33; the others kept."""
  explored = dict(values)
  for name in names:
    if rng.uniform() < PERTURB_PROBABILITY:
      explored[name] = values[name] * (PERTURB_FACTOR if rng.uniform() < 0.5 else 1 / PERTURB_FACTOR)
  return explored


def is_ready(frames, episodes, episodes_at_last_decision, burn_in_frames, ready_episodes):
  """A member evolves after the burn-in, each time it has finished `ready_episodes` more episodes."""
  return frames >= burn_in_frames and episodes - episodes_at_last_decision >= ready_episodes


def draw_partner(rng, member, members):
  """A member other than `member`, uniformly."""
  others = [m for m in members if m != member]
  return int(others[rng.integers(len(others))])
