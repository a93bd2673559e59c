"""What a run's learner did before and around its take-off: for reading why identical runs of one
recipe learn at different times (docs/pong_learning.md).

    .venv/bin/python benchmarks/learning_diagnostics.py /tmp/agent/table2/vtrace_replay0_seed1 ... \
        [--bin_frames=500000] [--figure=benchmarks/results/learning_diagnostics.png]

For each run's logdir (its config.json, episodes.csv and TensorBoard summaries) it prints, per bin of
frames: the mean return of the last 100 episodes and the mean episode length (an agent that returns
the ball plays longer episodes before it scores), the policy's mean entropy per step (nats; a uniform
policy over Pong's 6 actions has ln 6 = 1.79), the RMS error of the value against its V-trace target,
the gradient norm and the share of updates clipped, mean |log rho|, and the torso's units silent on
a whole batch (summaries since 2026-11-26); then the frames and learner updates at which the mean
return first reached -15, 0 and +18 (over a full window of 100 episodes, as pong_learning.py counts),
and, for every checkpoint the run kept, how many units of each torso layer never fire on frames of
random play (a dead ReLU unit gets no gradient again; all of the FC layer dead leaves a constant,
uniform policy). Summaries are one batch every --summary_secs, so a bin's values are a few batches
out of hundreds.
"""
import glob
import json
import math
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
import numpy as np

from runtime import curves  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_summaries  # pylint: disable=g-import-not-at-top,wrong-import-position
import silent_units  # pylint: disable=g-import-not-at-top,wrong-import-position

flags.DEFINE_integer('bin_frames', 500_000, 'Frames per row of the table.')
flags.DEFINE_string('figure', '', 'Also draw every run\'s quantities over frames into this PNG.')
FLAGS = flags.FLAGS

TAGS = ('entropy_loss', 'baseline_loss', 'gradient_norm', 'mean_abs_log_rho', 'silent_torso_units')
THRESHOLDS = (-15., 0., 18.)


def learner_series(logdir, config):
  """{quantity: (frames, values)} from the run's summaries, in per-step units."""
  raw = {tag.rpartition('/')[2]: points for tag, points in
         run_summaries.scalar_series(logdir, ['learner/' + tag for tag in TAGS]).items()}
  rows = config['unroll_length'] * config['batch_size']  # The losses are sums over these.
  convert = {
      'entropy': ('entropy_loss', lambda v: -v / (config['entropy_cost'] * rows)),
      'value_rms_error': ('baseline_loss', lambda v: math.sqrt(max(0., 4 * v / rows))),
      'gradient_norm': ('gradient_norm', lambda v: v),
      'mean_abs_log_rho': ('mean_abs_log_rho', lambda v: v),
      'silent_torso_units': ('silent_torso_units', lambda v: v)}
  series = {}
  for name, (tag, f) in convert.items():
    points = raw[tag]
    series[name] = (np.array([p[0] for p in points]), np.array([f(p[1]) for p in points]))
  return series


def episode_series(logdir):
  episodes = curves.read_episodes(curves.episodes_csv(logdir))
  return (episodes['frames'], curves.running_mean(episodes['episode_return']),
          episodes['episode_frames'])


def dead_units(logdir, config):
  """{checkpoint frames: {layer: (units that never fire, units)}} on 600 frames of random play."""
  frames, num_actions = silent_units.random_play_frames(config['level_name'])
  paths = sorted(glob.glob(os.path.join(logdir, 'ckpt-*.index')),
                 key=lambda p: int(p.rsplit('-', 1)[1][:-6]))
  return {int(path.rsplit('-', 1)[1][:-6]): silent_units.silent_units(
      path[:-6], frames, num_actions, config['network'], config['center_frames']) for path in paths}


def binned(frames, values, edges):
  index = np.digitize(frames, edges) - 1
  return [values[index == i] for i in range(len(edges) - 1)]


def report(logdir):
  with open(os.path.join(logdir, 'config.json')) as f:
    config = json.load(f)
  frames_per_update = config['unroll_length'] * config['batch_size'] * config['num_action_repeats'] * (
      1 - config.get('replay_proportion', 0.))  # Replayed unrolls add updates, not frames.
  series = learner_series(logdir, config)
  ep_frames, mean_return, lengths = episode_series(logdir)
  edges = np.arange(0, ep_frames[-1] + FLAGS.bin_frames, FLAGS.bin_frames)
  print(f'\n{logdir}: correction {config["correction"]}, replay {config.get("replay_proportion", 0)}, '
        f'{frames_per_update:.0f} frames an update')
  print(f'{"frames":>8} {"return":>7} {"ep len":>7} {"entropy":>8} {"value rms":>9} {"grad norm":>9} '
        f'{"clipped":>7} {"|log rho|":>9} {"silent":>6}')
  returns_in, lengths_in = binned(ep_frames, mean_return, edges), binned(ep_frames, lengths, edges)
  learner_in = {name: binned(f, v, edges) for name, (f, v) in series.items()}
  clip = config['gradient_clip_norm'] or np.inf
  for i in range(len(edges) - 1):
    mean = lambda a: f'{a.mean():.3g}' if len(a) else '-'
    norms = learner_in['gradient_norm'][i]
    print(f'{edges[i + 1] / 1e6:>7.1f}M {mean(returns_in[i][-1:]):>7} {mean(lengths_in[i]):>7} '
          f'{mean(learner_in["entropy"][i]):>8} {mean(learner_in["value_rms_error"][i]):>9} '
          f'{mean(norms):>9} {mean((norms > clip).astype(float)):>7} '
          f'{mean(learner_in["mean_abs_log_rho"][i]):>9} '
          f'{mean(learner_in["silent_torso_units"][i]):>6}')
  for threshold in THRESHOLDS:
    i = curves.first_reached(mean_return, threshold)
    at = ('not reached' if i is None else
          f'{ep_frames[i] / 1e6:.2f}M frames, {ep_frames[i] / frames_per_update:,.0f} updates')
    print(f'mean return {threshold:+g} or more: {at}')
  for frames, layers in dead_units(logdir, config).items():
    print(f'checkpoint at {frames / 1e6:.2f}M frames, units that never fire: ' +
          ', '.join(f'{name} {dead}/{units}' for name, (dead, units) in layers.items()))
  return series, (ep_frames, mean_return)


def draw(results, path):
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  names = ['mean return (last 100)', 'entropy', 'value_rms_error', 'gradient_norm', 'mean_abs_log_rho',
           'silent_torso_units']
  fig, axes = plt.subplots(len(names), 1, figsize=(9, 2.2 * len(names)), sharex=True)
  for logdir, (series, episodes) in results.items():
    label = os.path.basename(os.path.normpath(logdir))
    axes[0].plot(episodes[0] / 1e6, episodes[1], label=label)
    for ax, name in zip(axes[1:], names[1:]):
      ax.plot(series[name][0] / 1e6, series[name][1], '.', markersize=2)
  for ax, name in zip(axes, names):
    ax.set_ylabel(name.replace('_', ' '), fontsize=8)
    ax.grid(alpha=0.3)
  axes[3].set_yscale('log')
  axes[0].legend(fontsize=7)
  axes[-1].set_xlabel('environment frames (millions)')
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  print(f'Wrote {path}.')


def main(argv):
  if len(argv) < 2:
    raise app.UsageError('Give the logdirs of one or more runs.')
  results = {logdir: report(logdir) for logdir in argv[1:]}
  if FLAGS.figure:
    draw(results, FLAGS.figure)


if __name__ == '__main__':
  app.run(main)
