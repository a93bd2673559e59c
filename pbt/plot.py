"""`<logdir>/pbt.png`: each member's fitness and hyperparameters over its frames, from pbt.csv and the
members' first values; a copy of another member shows as a jump, marked with a cross."""
import csv
import os

from pbt import population
from runtime import hyperparameters as hyperparameters_lib
from runtime import run_config


def _decisions(logdir):
  path = os.path.join(logdir, 'pbt.csv')
  if not os.path.exists(path):
    return []
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


def draw(logdir):
  """Draws the picture; False if the population has no member yet."""
  recorded = run_config.load(logdir)
  if not recorded:
    return False
  states = {i: population.read_state(logdir, i) for i in range(recorded['pbt_population'])}
  states = {i: s for i, s in states.items() if s}
  if not states:
    return False
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  names = [n for n in hyperparameters_lib.EVOLVED
           if n in next(iter(states.values()))['initial_hyperparameters']]
  rows = _decisions(logdir)
  fig, axes = plt.subplots(1 + len(names), 1, figsize=(9, 2.2 * (1 + len(names))), sharex=True)
  for i, state in sorted(states.items()):
    own = [r for r in rows if int(r['member']) == i]
    frames = [0] + [int(r['frames']) / 1e6 for r in own]
    copied = [False] + [r['copied'] == '1' for r in own]
    color = f'C{i % 10}'
    scored = [(int(r['frames']) / 1e6, float(r['fitness'])) for r in own if r['fitness']]
    if scored:
      axes[0].plot(*zip(*scored), 'o-', color=color, markersize=3, label=f'member {i}')
    for ax, name in zip(axes[1:], names):
      values = [state['initial_hyperparameters'][name]] + [float(r[name]) for r in own]
      ax.step(frames, values, where='post', color=color)
      jumps = [(f, v) for f, v, c in zip(frames, values, copied) if c]
      if jumps:
        ax.plot(*zip(*jumps), 'x', color=color, markersize=7)
  axes[0].set_ylabel('fitness at decisions')
  if any(r['fitness'] for r in rows):
    axes[0].legend(fontsize=7, ncol=4)
  for ax, name in zip(axes[1:], names):
    ax.set_yscale('log')
    ax.set_ylabel(name.replace('_', ' '), fontsize=8)
  for ax in axes:
    ax.grid(alpha=0.3)
  axes[-1].set_xlabel('member frames (millions); x: copied another member')
  axes[0].set_title(f'PBT on {recorded["level_name"]}: {len(rows)} decisions', fontsize=10)
  fig.tight_layout()
  tmp = os.path.join(logdir, '.pbt.png')
  fig.savefig(tmp, dpi=90, format='png')
  plt.close(fig)
  os.replace(tmp, os.path.join(logdir, 'pbt.png'))
  return True
