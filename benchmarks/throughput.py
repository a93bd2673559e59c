"""Throughput of the real training pipeline (actors, queue, prefetch, learner), against its ideal.

    .venv/bin/python benchmarks/throughput.py [--seconds=60] [--configs=pong,dmlab] [--record]

experiment.py's flags (--actor_threads, --inference_timeout_ms, ...) apply to both configurations.

For each configuration it measures the parts on their own, in CPU seconds per agent step (process
time, so a part's own threads count): stepping the environment in this process, batched inference at
one row per actor, and the learner's training step; once before training and once after, and uses
the mean (a virtual machine's speed drifts; "drift" reports by how much). The ideal rate is what the
pipeline would reach if those parts overlapped perfectly on the machine's cores:
    ideal agent steps/s = cores / (env + inference + learner CPU seconds per agent step).
It also steps the run's environment processes alone (its --envs_per_process layout, random actions,
all cores, nothing else running): the most frames/s the environments can deliver through their
processes. Then it trains as experiment.py does for `--seconds` after its first step (which traces
the graph) and reports frames/s (what the actors made in that window: training_run.timed_rates),
learner steps/s, how long the learner waited for data and the
actors for inference, the share of the ideal reached, and "idle", the share of CPU time nothing used
(cores the pipeline left waiting). A second table splits the run's CPU time per agent step by where
it went (environment processes, actor threads, the inference thread, the learner and the rest, idle),
from /proc, next to the parts' sum: the difference is what the pipeline costs beyond its parts. On a
virtual machine, "steal" is the share of CPU time the
hypervisor gave to other guests during the training run: rates measured while it is high are not
comparable.

Configurations (flags given on the command line override their values):
  pong:  Atari Pong, shallow feed-forward network, the paper's Atari settings (unroll 20, batch 32);
         128 actors in 4 processes of 32, one actor thread each: the layout closest to the ideal
         measured on a 2-core machine. An environment process that waits for its actions finds cold
         caches when it wakes (benchmarks/env_bench.py's "idle" rows): 32 environments a message pay
         that a quarter as often as 8. With 4 threads, one's environments step while another's
         inference runs, and the cores rarely idle; with 2 threads of 32 (64 actors) a fifth of the CPU
         idles while both wait. Fewer actors in flight leave the cores idle too (16 actors, 4 per
         process, 2 threads: a quarter of the CPU time idle, ~20% fewer frames/s).
  dmlab: the DMLab-shaped synthetic level, deep network with LSTM and instruction, unroll 100, batch 32.
  lab_deep, lab_shallow: the real DeepMind Lab (needs it installed: make install DMLAB_WHEEL=...) on
         the original's default level, explore_goal_locations_small, with the original's agent (deep
         network, LSTM, unroll 100, batch 32) or the shallow network; one environment a process, as
         the original (--envs_per_process to change). DeepMind Lab cannot step in a process that has
         loaded TensorFlow, so its environment cost is the CPU time of an environment process and of
         the processes it waits for (from /proc). Its level start-up and the steps that begin an
         episode (each compiles the next maze: "episode start", reported apart) are left out of
         "env", as the run's window rarely holds them: every environment starts before the window
         and an episode lasts 1,350 agent steps.

Every part is measured after a warm-up (each environment started and WARMUP_STEPS steps taken), on
the run's level with its seeds. A configuration whose numbers contradict each other (a share of the
ideal above 100%, a run faster than its environments alone, a drift beyond DRIFT_BOUND, steal beyond
STEAL_BOUND, a part that ran with no CPU time) is printed as "unreliable", with why, and --record
leaves it out of benchmarks/results/.
"""
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
import numpy as np
from runtime import startup  # pylint: disable=g-import-not-at-top,wrong-import-position
startup.import_tensorflow_quietly()  # TensorFlow's start-up notices filtered, as in experiment.py.
import tensorflow as tf
import tree

from benchmarks import training_run
import configuration
import environments
from environments import proc_stat
from runtime import acting
from runtime import agents
from runtime import learner as learner_lib
from runtime import prefetch
from runtime import trajectories

configuration.define_flags()

flags.DEFINE_integer('seconds', 60, 'Seconds of training per configuration.')
flags.DEFINE_list('configs', ['pong', 'dmlab'], 'Configurations to run.')
flags.DEFINE_integer('pong_actors', 128, 'Actors for the Pong configuration.')
flags.DEFINE_integer('dmlab_actors', 16, 'Actors for the DeepMind Lab configurations (synthetic '
                     'and real).')
flags.DEFINE_bool('record', False, 'Append the reliable configurations\' rows to '
                  'benchmarks/results/throughput_<config>.txt (with the date, commit and machine).')
FLAGS = flags.FLAGS

WARMUP_STEPS = 20  # Agent steps every environment takes after its start, before any timing.
# Beyond these a configuration's share of the ideal is printed as unreliable, not as a result: the
# parts' cost moving by more than DRIFT_BOUND from before training to after (the machine's speed
# changed under the run), or the hypervisor taking more than STEAL_BOUND of the CPU time.
DRIFT_BOUND = .25
STEAL_BOUND = .05
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results')

CONFIGS = {
    'pong': dict(level_name='atari/pong', envs_per_process=32, actor_threads=4),
    'dmlab': dict(level_name='synthetic/dmlab', network='deep', use_lstm=True, unroll_length=100,
                  batch_size=32),
    'lab_deep': dict(level_name='explore_goal_locations_small', network='deep', use_lstm=True,
                     unroll_length=100, batch_size=32),
    'lab_shallow': dict(level_name='explore_goal_locations_small', network='shallow', use_lstm=True,
                        unroll_length=100, batch_size=32),
}


def make_config(name, logdir):
  # The configuration's values, but for the flags given on the command line.
  given = configuration.given_flags()
  values = dict(CONFIGS[name], **given)
  values.update(logdir=logdir, num_actors=FLAGS.pong_actors if name == 'pong' else FLAGS.dmlab_actors,
                total_environment_frames=int(1e12), summary_secs=10 ** 6)
  return configuration.build(**values)


def cpu_seconds_per_step(fn, steps_per_call, min_seconds=3.):
  """Process CPU seconds per agent step of `fn` (after a warm-up call)."""
  fn()
  calls, wall_start, cpu_start = 0, time.monotonic(), time.process_time()
  while time.monotonic() - wall_start < min_seconds:
    fn()
    calls += 1
  return (time.process_time() - cpu_start) / (calls * steps_per_call)


def _steps_here(config):
  """Whether the level's environments can step in this process (DeepMind Lab's cannot)."""
  return config.level_name.startswith(('atari/', 'synthetic/'))


def environment_cost(config):
  """(EnvSpec, CPU seconds per step of one environment, CPU seconds per episode start or None), after
  a warm-up, on the run's level with its first actor's seed. In this process for Atari and the
  synthetic levels; for DeepMind Lab, which cannot run beside TensorFlow, the CPU time of an
  environment process and the processes it waits for, from /proc, with the steps that began an
  episode (each compiles the next episode's map) set apart: the run's windows rarely hold one
  (explore_goal_locations_small's episodes are 1,350 agent steps), and the level's start-up is never
  in them."""
  rng = np.random.default_rng(0)
  if _steps_here(config):
    env = environments.create_environment(config.level_name, seed=config.seed, is_test=False,
                                          config=config.env_config)
    env.initial()
    cost = cpu_seconds_per_step(lambda: env.step(int(rng.integers(env.spec.num_actions))), 1)
    env.close()
    return env.spec, cost, None
  with environments.EnvironmentProcess(environments.create_environment, level_name=config.level_name,
                                       seed=config.seed, is_test=False, config=config.env_config) as env:
    env.initial()  # The level's start-up and first map: not measured.
    for _ in range(WARMUP_STEPS):
      env.step(int(rng.integers(env.spec.num_actions)))
    step_seconds, steps, start_seconds, starts = 0., 0, 0., 0
    start = time.monotonic()
    while starts < 2 and time.monotonic() - start < 60 or steps < 200:
      before = proc_stat.cpu_seconds(env.pid)
      done = env.step(int(rng.integers(env.spec.num_actions))).done
      used = proc_stat.cpu_seconds(env.pid) - before
      if done:
        start_seconds, starts = start_seconds + used, starts + 1
      else:
        step_seconds, steps = step_seconds + used, steps + 1
    return env.spec, step_seconds / steps, start_seconds / starts if starts else None


def measure_parts(config):
  """CPU seconds per agent step of the environment, batched inference and the learner step, the
  action repeats, and the environment's CPU seconds per episode start (None: not measured)."""
  spec, env_cost, episode_start_cost = environment_cost(config)

  agent = agents.build_agent(config, spec)
  single = (np.int32(0), trajectories.without_info(trajectories.example_env_output(spec)),
            agents.actor_initial_state(agent))
  rows = trajectories.stack([single] * config.num_actors)
  step = tf.function(agent.step)  # The batched function itself, without the batcher's threads.
  inference_cost = cpu_seconds_per_step(lambda: tree.map_structure(np.asarray, step(*rows)),
                                        config.num_actors)

  learner = learner_lib.Learner(agent, config)
  example = trajectories.unroll_example(agent, spec, config.unroll_length)
  batch = tree.map_structure(lambda x: np.stack([x] * config.batch_size), example)
  batch = prefetch.fresh_batch(batch)
  signature = prefetch.batch_signature(example, config.batch_size)
  train_step = tf.function(learner.train_step, input_signature=[signature])
  learner_cost = cpu_seconds_per_step(
      lambda: train_step(batch)['total_loss'].numpy(), config.unroll_length * config.batch_size,
      min_seconds=5.)
  return env_cost, inference_cost, learner_cost, spec.num_action_repeats, episode_start_cost


def environments_alone_fps(config, seconds=10.):
  """(frames/s, episodes begun) of the run's environment processes stepped together with random
  actions, alone, for `seconds` after every one has started its level and taken WARMUP_STEPS steps:
  the most the environments can deliver through their processes, measured as the run's window is."""
  groups = acting.start_environments(
      config, range(config.num_actors), is_test=False, env_factory=environments.create_environment)
  try:
    processes = [group.process for group in groups]
    for process in processes:
      process.initial()
    num_actions = processes[0].spec.num_actions
    rng = np.random.default_rng(0)
    sizes = [len(group.actor_ids) for group in groups]

    def step_all():
      outputs = environments.step_many(
          processes, [rng.integers(num_actions, size=n).tolist() for n in sizes])
      return sum(int(np.sum(output.done)) for output in outputs)

    for _ in range(WARMUP_STEPS):
      step_all()
    steps, episodes, start = 0, 0, time.monotonic()
    while time.monotonic() - start < seconds:
      episodes += step_all()
      steps += config.num_actors
    return steps * config.env_config.num_action_repeats / (time.monotonic() - start), episodes
  finally:
    acting.close_environments(groups)


def unreliable(row):
  """Why a configuration's measurement is not a result (a list of reasons; empty if it is one)."""
  reasons = []
  if row['frames'] > row['ideal']:
    reasons.append(f'{row["frames"] / row["ideal"]:.0%} of the ideal: the parts alone cost more than '
                   'in the run, so they were not measured as the run meets them')
  if row['frames'] > row['envs_alone']:
    reasons.append(f'the run ({row["frames"]:.0f} frames/s) outran its environments alone '
                   f'({row["envs_alone"]:.0f})')
  if abs(row['drift']) > DRIFT_BOUND:
    reasons.append(f'the parts\' cost drifted {row["drift"]:+.0%} from before training to after '
                   f'(bound {DRIFT_BOUND:.0%}): the machine\'s speed changed under the run')
  if row['stats']['steal'] > STEAL_BOUND:
    reasons.append(f'the hypervisor took {row["stats"]["steal"]:.0%} of the CPU time (bound '
                   f'{STEAL_BOUND:.0%})')
  if row['stats']['ended_early']:
    reasons.append('training stopped before the end of its window')
  used = row['stats']['cpu_by_role']
  idle_roles = [role for role in training_run.ROLES if used.get(role, 0.) <= 0.]
  if idle_roles:
    reasons.append(f'no CPU time recorded for {", ".join(idle_roles)}, which ran')
  return reasons


def check_levels(names):
  """Exits with one line if a configuration needs DeepMind Lab and it is not installed."""
  lab = [name for name in names if CONFIGS[name]['level_name'] == 'explore_goal_locations_small']
  if lab and importlib.util.find_spec('deepmind_lab') is None:
    raise SystemExit(f'--configs={",".join(lab)} needs DeepMind Lab, which is not installed: make '
                     'install DMLAB_WHEEL=path/to/deepmind_lab-1.0-py3-none-any.whl (docs/dmlab.md), '
                     'or leave them out (--configs=pong,dmlab).')


def measure(name):
  """One configuration: the parts alone before and after `--seconds` of training, and the run."""
  with tempfile.TemporaryDirectory() as logdir:
    config = make_config(name, logdir)
    before = measure_parts(config)
    envs_alone, envs_alone_episodes = environments_alone_fps(config)
    stats = training_run.train_for(config, FLAGS.seconds)
    # The parts again after training, and their mean: a virtual machine's speed drifts by up to a
    # third within minutes, and the share of ideal should not depend on when the parts were timed.
    after = measure_parts(config)
  env_cost, inference_cost, learner_cost = ((b + a) / 2 for b, a in zip(before[:3], after[:3]))
  starts = [cost for cost in (before[4], after[4]) if cost is not None]
  seconds, frames, steps = training_run.timed_rates(
      stats, name, FLAGS.seconds, config.unroll_length * before[3])
  return dict(
      name=name, config=config, env=env_cost, inference=inference_cost, learner=learner_cost,
      episode_start=sum(starts) / len(starts) if starts else None,
      ideal=os.cpu_count() / (env_cost + inference_cost + learner_cost) * before[3],
      envs_alone=envs_alone, envs_alone_episodes=envs_alone_episodes, frames=frames, steps=steps,
      stats=stats, seconds=seconds, drift=sum(after[:3]) / sum(before[:3]) - 1)


def tables(rows):
  """The two tables, as text."""
  cores = os.cpu_count()
  lines = [f'Throughput on {cores} cores, {FLAGS.seconds} s of training per configuration.',
           'CPU microseconds per agent step, each part measured alone:',
           f'{"config":<12}{"actors":>7}{"env":>9}{"inference":>11}{"learner":>9}{"ideal fps":>11}'
           f'{"envs alone":>12}{"frames/s":>10}{"of ideal":>12}{"steps/s":>9}{"learner wait":>14}'
           f'{"actor wait":>12}{"batch":>7}{"idle":>6}{"steal":>7}{"drift":>7}{"episode start":>15}']
  for row in rows:
    stats = row['stats']
    actor_wait = stats['inference_wait_seconds'] / (stats['actor_threads'] * stats['actor_seconds'])
    share = 'unreliable' if unreliable(row) else f'{row["frames"] / row["ideal"]:.0%}'
    start = '-' if row['episode_start'] is None else f'{row["episode_start"] * 1e3:.0f} ms'
    lines.append(
        f'{row["name"]:<12}{row["config"].num_actors:>7}{row["env"] * 1e6:>9.0f}'
        f'{row["inference"] * 1e6:>11.0f}{row["learner"] * 1e6:>9.0f}{row["ideal"]:>11.0f}'
        f'{row["envs_alone"]:>12.0f}{row["frames"]:>10.0f}{share:>12}{row["steps"]:>9.2f}'
        f'{stats["learner_wait_seconds"] / row["seconds"]:>14.0%}{actor_wait:>12.0%}'
        f'{stats["inference_mean_batch"]:>7.1f}{stats["idle"]:>6.0%}{stats["steal"]:>7.0%}'
        f'{row["drift"]:>+7.0%}{start:>15}')
  for row in rows:
    for reason in unreliable(row):
      lines.append(f'{row["name"]}: unreliable: {reason}.')
  lines += ['', 'Where the CPU went during training, microseconds per agent step (from /proc; the '
            'parts alone, for comparison: env + inference + learner):',
            f'{"config":<12}' + ''.join(f'{role:>18}' for role in training_run.ROLES) +
            f'{"idle":>8}{"all cores":>11}{"parts alone":>13}']
  for row in rows:
    agent_steps = row['frames'] * row['seconds'] / row['config'].env_config.num_action_repeats
    used = row['stats']['cpu_by_role']
    lines.append(f'{row["name"]:<12}' + ''.join(f'{used[role] / agent_steps * 1e6:>18.0f}'
                                                for role in training_run.ROLES)
                 + f'{row["stats"]["idle"] * cores * row["seconds"] / agent_steps * 1e6:>8.0f}'
                 f'{cores * row["seconds"] / agent_steps * 1e6:>11.0f}'
                 f'{(row["env"] + row["inference"] + row["learner"]) * 1e6:>13.0f}')
  return lines


def record(row):
  """Appends a reliable configuration's tables to benchmarks/results/throughput_<config>.txt."""
  path = os.path.join(RESULTS_DIR, f'throughput_{row["name"]}.txt')
  commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True,
                          cwd=RESULTS_DIR, check=False).stdout.strip() or 'unknown'
  with open(path, 'a') as f:
    f.write(f'\n## {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, commit {commit}, '
            f'{platform.node()} ({os.cpu_count()} cores, {platform.processor() or platform.machine()})'
            f'\n{" ".join(sys.argv)}\n\n' + '\n'.join(tables([row])) + '\n')
  print(f'Recorded {row["name"]} in {path}.')


def one_config_command(name):
  """The command that measures configuration `name` alone, with the other flags given here."""
  given = [FLAGS[flag].serialize() for flag in FLAGS
           if FLAGS[flag].present and FLAGS[flag].name == flag and flag != 'configs']
  return [sys.executable, os.path.abspath(__file__), f'--configs={name}'] + given


def main(argv):
  del argv
  unknown = [name for name in FLAGS.configs if name not in CONFIGS]
  if unknown:
    raise SystemExit(f'--configs: unknown {", ".join(unknown)}; choose from {", ".join(CONFIGS)}.')
  check_levels(FLAGS.configs)
  if len(FLAGS.configs) > 1:
    # Each configuration in a fresh process: one measured after another in the same process came out
    # wrong (lab_shallow after lab_deep read negative and zero CPU parts; lab_deep after lab_shallow,
    # twice, fewer than 2 learner updates in 60 s, where alone it made 3 or more); the state the
    # first leaves behind was not found.
    codes = [subprocess.run(one_config_command(name), check=False).returncode
             for name in FLAGS.configs]
    raise SystemExit(max(codes))
  rows = [measure(name) for name in FLAGS.configs]
  lines = tables(rows)
  print('\n' + '\n'.join(lines))
  print(NOTES)
  if FLAGS.record:
    for row in rows:
      if unreliable(row):
        print(f'{row["name"]}: not recorded, its measurement is unreliable.')
      else:
        record(row)


NOTES = (
    'envs alone: frames/s of the environment processes alone, in the run\'s layout; learner wait: '
    'share of the time the learner waited for a batch; actor wait: share of each actor thread\'s '
    'time spent waiting for batched inference; batch: rows per inference call; idle: CPU time no '
    'part of the pipeline used; steal: CPU time the hypervisor took for other machines; drift: '
    'change of the parts\' cost from before training to after (the ideal uses their mean); episode '
    'start: an environment\'s CPU time for a step that begins an episode (DeepMind Lab compiles the '
    'next map), not in "env". Second table: environments: the environment processes; actors: the '
    'actor threads (stepping, stacking unrolls, enqueueing); inference: the batching thread; '
    'learner and rest: the main thread, prefetching and TensorFlow\'s thread pool (the learner\'s '
    'ops, part of inference\'s); idle: CPU no part used; all cores: the machine\'s CPU time per '
    'agent step.')


if __name__ == '__main__':
  app.run(main)
