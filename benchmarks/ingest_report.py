"""What benchmarks/learner_ingest.py reports: a row per number of actor tasks from what its learner
measured, whether a row can be trusted, the table derived from them and one actor's rate (how many
actors one learner core absorbs, what the paper's runs cost), and the results files."""
import math
import os

PAPER_ACTORS = 150  # DMLab-30's actors in the paper (section 5.3.2).
PAPER_LEARNER_FPS = 30_000  # The paper's deep agent on one learner GPU (section 5.1).
ACTION_REPEATS = 4  # Frames per agent step, DMLab's and Atari's (the paper's settings).
DMLAB30_FRAMES = 10 ** 10
ATARI57_GAMES, ATARI57_GAME_FRAMES = 57, 200 * 10 ** 6
# A row is unreliable when, in its window, processes other than the learner and its actor tasks used
# more than this many cores, or the hypervisor took more than this share of the machine (steal).
OTHER_LOAD_LIMIT = 0.25
STEAL_LIMIT = 0.05
GROUPS = ('handlers', 'gRPC I/O', 'TF compute', 'prefetch', 'learner loop')  # ingest_tasks.thread_groups


def point_row(tasks, result, unrolls_per_enqueue, fetch_weights):
  """One row: rates per second, CPU seconds per unroll, cores used, from a learner's result."""
  seconds, unrolls = result['seconds'], result['unrolls']
  machine = result['machine']
  learner_cores, actor_cores = result['learner_cpu'] / seconds, result['actor_cpu'] / seconds
  # Weights fetched per unroll: once an enqueue, as a real actor task does.
  weights_mb_per_unroll = result['weights_bytes'] / 1e6 / unrolls_per_enqueue if fetch_weights else 0.
  return dict(
      tasks=tasks, seconds=seconds, unrolls_per_second=unrolls / seconds,
      unroll_mb=result['unroll_bytes'] / 1e6, weights_mb_per_unroll=weights_mb_per_unroll,
      payload_mb_per_second=unrolls * result['unroll_bytes'] / seconds / 1e6,
      weights_mb_per_second=unrolls * weights_mb_per_unroll / seconds,
      received_mb_per_second=result['received'] / seconds / 1e6,
      sent_mb_per_second=result['sent'] / seconds / 1e6,
      learner_cpu_per_unroll=result['learner_cpu'] / unrolls, learner_cores=learner_cores,
      actor_cpu_per_unroll=result['actor_cpu'] / unrolls, actor_cores=actor_cores,
      threads={g: result['threads'].get(g, 0.) / seconds for g in GROUPS},
      train_steps_per_second=result['steps'] / seconds,
      learner_waited=result['learner_waited'] / seconds,
      # With tick accounting and no CONFIG_IRQ_TIME_ACCOUNTING (this machine's kernel), Linux
      # charges a tick spent in an interrupt or softirq (here, mostly the veth links' packets) to
      # the process it interrupted as system time, but to irq and softirq in /proc/stat: without
      # them, the recorded run's other cores read -0.10 to -0.14.
      other_cores=machine['processes'] + machine['interrupts'] - learner_cores - actor_cores,
      interrupt_cores=machine['interrupts'], steal=machine['steal'] / result['cores'],
      cores=result['cores'])


def unreliable(row):
  """Why the row cannot be trusted, or None."""
  if row['other_cores'] > OTHER_LOAD_LIMIT:
    return (f'other processes used {row["other_cores"]:.2f} cores during its window (more than '
            f'{OTHER_LOAD_LIMIT}): the machine was not quiet')
  if row['steal'] > STEAL_LIMIT:
    return f'the hypervisor took {row["steal"]:.0%} of the CPU (steal; more than {STEAL_LIMIT:.0%})'
  return None


def saturation(rows, gain=0.1):
  """The fewest actor tasks after which more add less than `gain` (a share) to unrolls/s, or None."""
  rows = sorted(rows, key=lambda r: r['tasks'])
  for row, following in zip(rows, rows[1:]):
    if following['unrolls_per_second'] < (1 + gain) * row['unrolls_per_second']:
      return row['tasks']
  return None


def derived(rows, actor_steps_per_second, unroll_length, atari_steps_per_second=0.):
  """The numbers of the derived table, from the rows and one DMLab actor's agent steps per second
  of CPU (and optionally an Atari actor's). The learner's CPU per unroll is the best row's (the most
  unrolls/s: overheads shared the most)."""
  peak = max(rows, key=lambda r: r['unrolls_per_second'])
  cpu = peak['learner_cpu_per_unroll']
  actor_unrolls = actor_steps_per_second / unroll_length  # Unrolls/s one actor sends.
  paper_unrolls = PAPER_ACTORS * actor_unrolls
  dmlab_steps = DMLAB30_FRAMES / ACTION_REPEATS
  atari_frames = ATARI57_GAMES * ATARI57_GAME_FRAMES
  return dict(
      peak_tasks=peak['tasks'], peak_unrolls_per_second=peak['unrolls_per_second'],
      learner_cpu_per_unroll=cpu, unrolls_per_learner_core=1 / cpu,
      actor_unrolls_per_second=actor_unrolls,
      actors_per_learner_core=1 / cpu / actor_unrolls,
      actors_at_peak=peak['unrolls_per_second'] / actor_unrolls,
      saturated_at=saturation(rows),
      paper_unrolls_per_second=paper_unrolls, paper_learner_cores=paper_unrolls * cpu,
      paper_received_mb_per_second=paper_unrolls * peak['unroll_mb'],
      paper_sent_mb_per_second=paper_unrolls * peak['weights_mb_per_unroll'],
      dmlab30_actor_core_hours=dmlab_steps / actor_steps_per_second / 3600,
      dmlab30_learner_core_hours=dmlab_steps / unroll_length * cpu / 3600,
      dmlab30_paper_learner_hours=DMLAB30_FRAMES / PAPER_LEARNER_FPS / 3600,
      atari57_actor_core_hours=(atari_frames / ACTION_REPEATS / atari_steps_per_second / 3600
                                if atari_steps_per_second else None),
      atari57_paper_learner_hours=atari_frames / PAPER_LEARNER_FPS / 3600)


LEGEND = (
    'Learner cores by thread: handlers, its unnamed threads (gRPC\'s call handling, TensorFlow\'s '
    'eager service and its op threads: with --train, most of the training step); gRPC I/O, gRPC\'s '
    'event_engine threads; TF compute, TensorFlow\'s tf_Compute pool (the queue\'s kernels and '
    'copies); prefetch, '
    'runtime.prefetch\'s thread; learner loop, the main thread. learner waited: the share of the '
    'time the learner\'s loop waited for a batch (with --train, how much ingest held training back). '
    'eth0: what the learner host\'s interface carried, framing included. other cores: the machine\'s '
    'CPU (interrupts included, which Linux charges to the process they interrupt) less the '
    f'learner\'s and its actor tasks\' (a row is unreliable above {OTHER_LOAD_LIMIT}); steal: the '
    f'hypervisor\'s share (above {STEAL_LIMIT:.0%}, unreliable).')


def format_rows(rows):
  lines = ['| actor tasks | unrolls/s | payload in MB/s | weights out MB/s | eth0 in / out MB/s | '
           'learner CPU ms/unroll | learner cores | actor tasks\' CPU ms/unroll | learner cores by '
           'thread: ' + ' / '.join(GROUPS) + ' | train steps/s | learner waited | other cores | '
           'steal |',
           '|' + '---|' * 13]
  for r in sorted(rows, key=lambda r: r['tasks']):
    threads = ' / '.join(f'{r["threads"][g]:.2f}' for g in GROUPS)
    lines.append(
        f'| {r["tasks"]} | {r["unrolls_per_second"]:.1f} | {r["payload_mb_per_second"]:.0f} | '
        f'{r["weights_mb_per_second"]:.0f} | {r["received_mb_per_second"]:.0f} / '
        f'{r["sent_mb_per_second"]:.0f} | {r["learner_cpu_per_unroll"] * 1e3:.1f} | '
        f'{r["learner_cores"]:.2f} | {r["actor_cpu_per_unroll"] * 1e3:.1f} | {threads} | '
        f'{r["train_steps_per_second"]:.2f} | {r["learner_waited"]:.0%} | {r["other_cores"]:.2f} | '
        f'{r["steal"]:.0%} |')
  return lines


def tasks_text(count):
  return f'{count} actor task{"s" * (count != 1)}'


def format_derived(d, actor_steps_per_second, unroll_length, atari_steps_per_second=0.,
                   trained=False):
  """The derived table's lines. trained: the learner also trained (its CPU is not ingest alone)."""
  hours = lambda h: f'{h:,.0f}' if h >= 10 else f'{h:.2g}'
  work = 'ingest and training' if trained else 'ingest'
  saturated = (f'unrolls/s grow by less than 10% beyond {tasks_text(d["saturated_at"])}'
               if d['saturated_at'] else 'unrolls/s still grow at the most actor tasks measured')
  lines = [
      f'One DeepMind Lab actor: {actor_steps_per_second:,.0f} agent steps per CPU-second, '
      f'{d["actor_unrolls_per_second"]:.2f} unrolls/s of {unroll_length} steps.',
      '| | |', '|---|---|',
      f'| learner CPU per unroll (at {tasks_text(d["peak_tasks"])}, the most unrolls/s) | '
      f'{d["learner_cpu_per_unroll"] * 1e3:.1f} ms |',
      f'| unrolls/s one learner core absorbs | {d["unrolls_per_learner_core"]:,.0f} |',
      f'| DeepMind Lab actors one learner core absorbs | {d["actors_per_learner_core"]:,.0f} |',
      f'| most unrolls/s measured | {d["peak_unrolls_per_second"]:,.1f} '
      f'({tasks_text(d["peak_tasks"])}: {d["actors_at_peak"]:,.0f} actors\' worth); {saturated} |',
      f'| the paper\'s {PAPER_ACTORS} actors | {d["paper_unrolls_per_second"]:,.1f} unrolls/s: '
      f'{d["paper_learner_cores"]:.2f} learner cores of {work}, '
      f'{d["paper_received_mb_per_second"]:,.0f} MB/s in, {d["paper_sent_mb_per_second"]:,.0f} MB/s '
      'of weights out |',
      f'| DMLab-30, 10^{round(math.log10(DMLAB30_FRAMES))} frames | actors '
      f'{hours(d["dmlab30_actor_core_hours"])} core-hours; learner {work} {hours(d["dmlab30_learner_core_hours"])} core-hours; the '
      f'paper\'s learner at its {PAPER_LEARNER_FPS:,} frames/s on one GPU: '
      f'{hours(d["dmlab30_paper_learner_hours"])} hours |',
      f'| Atari-57, {ATARI57_GAME_FRAMES / 1e6:.0f}M frames a game | actors ' + (
          f'{hours(d["atari57_actor_core_hours"])} core-hours (at {atari_steps_per_second:,.0f} '
          'agent steps per CPU-second)' if d['atari57_actor_core_hours'] is not None else
          'not given (--atari_actor_steps_per_second)') +
      f'; the paper\'s learner at {PAPER_LEARNER_FPS:,} frames/s: '
      f'{hours(d["atari57_paper_learner_hours"])} hours, '
      f'{d["atari57_paper_learner_hours"] / ATARI57_GAMES:.2g} hours a game |']
  if d['actors_at_peak'] < PAPER_ACTORS:
    lines.append(f'The most unrolls/s measured carry {d["actors_at_peak"]:,.0f} actors, fewer than '
                 f'the paper\'s {PAPER_ACTORS}: one learner core would carry '
                 f'{d["actors_per_learner_core"]:,.0f}.')
  return lines


def plot(rows, path):
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  rows = sorted(rows, key=lambda r: r['tasks'])
  tasks = [r['tasks'] for r in rows]
  fig, (rate_ax, cpu_ax) = plt.subplots(1, 2, figsize=(9, 3.5))
  rate_ax.plot(tasks, [r['unrolls_per_second'] for r in rows], 'o-')
  rate_ax.set(xlabel='actor tasks', ylabel='unrolls/s', title='learner ingest', xscale='log', ylim=0)
  cpu_ax.plot(tasks, [r['learner_cpu_per_unroll'] * 1e3 for r in rows], 'o-', color='C1')
  cpu_ax.set(xlabel='actor tasks', ylabel='ms of CPU', title='learner CPU per unroll', xscale='log',
             ylim=0)
  for ax in (rate_ax, cpu_ax):
    ax.set_xticks(tasks, [str(t) for t in tasks])
    ax.minorticks_off()
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)


def publish(results_dir, text, rows, name='learner_ingest'):
  """Writes `name`.txt (`text`) and its plot to `results_dir` if every row is reliable; returns why
  not (nothing written) or an empty list. Call it only for a run that completed."""
  doubts = [f'{tasks_text(r["tasks"])}: {why}' for r in rows
            for why in [unreliable(r)] if why]
  if doubts:
    return doubts
  os.makedirs(results_dir, exist_ok=True)
  with open(os.path.join(results_dir, f'{name}.txt'), 'w') as f:
    f.write(text)
  plot(rows, os.path.join(results_dir, f'{name}.png'))
  return []
