"""Throughput of the real training pipeline (actors, queue, prefetch, learner), against its ideal.

    .venv/bin/python benchmarks/throughput.py [--seconds=60] [--configs=pong,dmlab]

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
the graph) and reports frames/s, learner steps/s, how long the learner waited for data and the
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
         the processes it waits for (from /proc): each reset compiles the next episode's maze in one,
         which costs more than the episode's steps (explore_goal_locations_small: ~2 ms a step).
"""
import os
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
FLAGS = flags.FLAGS

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
  """(EnvSpec, CPU seconds per step of one environment): in this process, or for DeepMind Lab, which
  cannot run beside TensorFlow, the CPU time of an environment process and the processes it starts
  (each episode's map is compiled in one), over 3 episodes."""
  rng = np.random.default_rng(0)
  if _steps_here(config):
    env = environments.create_environment(config.level_name, seed=1, is_test=False,
                                          config=config.env_config)
    env.initial()
    cost = cpu_seconds_per_step(lambda: env.step(int(rng.integers(env.spec.num_actions))), 1)
    env.close()
    return env.spec, cost
  with environments.EnvironmentProcess(environments.create_environment, level_name=config.level_name,
                                       seed=1, is_test=False, config=config.env_config) as env:
    env.initial()
    steps, episodes, start = 0, 0, time.monotonic()
    cpu_start = environments.process.cpu_seconds(env.pid)
    while episodes < 3 and time.monotonic() - start < 120:
      episodes += env.step(int(rng.integers(env.spec.num_actions))).done
      steps += 1
    return env.spec, (environments.process.cpu_seconds(env.pid) - cpu_start) / steps


def measure_parts(config):
  """CPU seconds per agent step of the environment, batched inference and the learner step."""
  spec, env_cost = environment_cost(config)

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
  return env_cost, inference_cost, learner_cost, spec.num_action_repeats


def environments_alone_fps(config, seconds=5.):
  """Frames/s of the run's environment processes stepped together with random actions, alone: for
  `seconds`, and for DeepMind Lab until every environment has finished an episode (its resets, which
  compile the next map, cost more than its steps)."""
  groups = acting.start_environments(
      config, range(config.num_actors), is_test=False, env_factory=environments.create_environment)
  try:
    processes = [group.process for group in groups]
    for process in processes:
      process.initial()
    num_actions = processes[0].spec.num_actions
    rng = np.random.default_rng(0)
    sizes = [len(group.actor_ids) for group in groups]
    steps, start = 0, time.monotonic()
    finished = np.zeros(config.num_actors, bool) | _steps_here(config)
    while time.monotonic() - start < seconds or not finished.all() and time.monotonic() - start < 300:
      outputs = environments.step_many(
          processes, [rng.integers(num_actions, size=n).tolist() for n in sizes])
      finished |= np.concatenate([output.done for output in outputs])
      steps += config.num_actors
    return steps * config.env_config.num_action_repeats / (time.monotonic() - start)
  finally:
    acting.close_environments(groups)


def main(argv):
  del argv
  cores = os.cpu_count()
  rows = []
  for name in FLAGS.configs:
    with tempfile.TemporaryDirectory() as logdir:
      config = make_config(name, logdir)
      before = measure_parts(config)
      envs_alone = environments_alone_fps(config)
      stats = training_run.train_for(config, FLAGS.seconds)
      # The parts again after training, and their mean: a virtual machine's speed drifts by up to a
      # third within minutes, and the share of ideal should not depend on when the parts were timed.
      after = measure_parts(config)
    env_cost, inference_cost, learner_cost = ((b + a) / 2 for b, a in zip(before[:3], after[:3]))
    repeats = before[3]
    ideal_steps = cores / (env_cost + inference_cost + learner_cost)
    drift = sum(after[:3]) / sum(before[:3]) - 1
    seconds, frames, steps = training_run.timed_rates(stats, name, FLAGS.seconds)
    rows.append((name, config, env_cost, inference_cost, learner_cost, ideal_steps * repeats,
                 envs_alone, frames, steps, stats, seconds, drift))

  print(f'\nThroughput on {cores} cores, {FLAGS.seconds} s of training per configuration.')
  print('CPU microseconds per agent step, each part measured alone:')
  print(f'{"config":<12}{"actors":>7}{"env":>9}{"inference":>11}{"learner":>9}{"ideal fps":>11}'
        f'{"envs alone":>12}{"frames/s":>10}{"of ideal":>10}{"steps/s":>9}{"learner wait":>14}'
        f'{"actor wait":>12}'
        f'{"batch":>7}{"idle":>6}{"steal":>7}{"drift":>7}')
  for (name, config, env_cost, inference_cost, learner_cost, ideal, envs_alone, frames, steps, stats,
       seconds, drift) in rows:
    actor_wait = stats['inference_wait_seconds'] / (stats['actor_threads'] * stats['actor_seconds'])
    print(f'{name:<12}{config.num_actors:>7}{env_cost * 1e6:>9.0f}{inference_cost * 1e6:>11.0f}'
          f'{learner_cost * 1e6:>9.0f}{ideal:>11.0f}{envs_alone:>12.0f}{frames:>10.0f}{frames / ideal:>10.0%}'
          f'{steps:>9.2f}{stats["learner_wait_seconds"] / seconds:>14.0%}'
          f'{actor_wait:>12.0%}'
          f'{stats["inference_mean_batch"]:>7.1f}{stats["idle"]:>6.0%}{stats["steal"]:>7.0%}'
          f'{drift:>+7.0%}')
  print('\nWhere the CPU went during training, microseconds per agent step (from /proc; the parts '
        'alone, for comparison: env + inference + learner):')
  roles = ('environments', 'actors', 'inference', 'learner and rest')
  print(f'{"config":<12}' + ''.join(f'{role:>18}' for role in roles) + f'{"idle":>8}{"all cores":>11}'
        f'{"parts alone":>13}')
  for (name, config, env_cost, inference_cost, learner_cost, _, _, frames, _, stats, seconds,
       _) in rows:
    agent_steps = frames * seconds / config.env_config.num_action_repeats
    used = stats.get('cpu_by_role', {})
    print(f'{name:<12}' + ''.join(f'{used.get(role, 0.) / agent_steps * 1e6:>18.0f}' for role in roles)
          + f'{stats["idle"] * cores * seconds / agent_steps * 1e6:>8.0f}'
          f'{cores * seconds / agent_steps * 1e6:>11.0f}'
          f'{(env_cost + inference_cost + learner_cost) * 1e6:>13.0f}')
  print('envs alone: frames/s of the environment processes alone, in the run\'s layout; '
        'learner wait: share of the time the learner waited for a batch; actor wait: share of each '
        'actor thread\'s time spent waiting for batched inference; batch: rows per inference call; '
        'idle: CPU time no part of the pipeline used; steal: CPU time the hypervisor took for other '
        'machines; drift: change of the parts\' cost from before training to after (the ideal uses '
        'their mean; large drifts make the share of ideal unreliable). Second table: environments: '
        'the environment processes; actors: the actor threads (stepping, stacking unrolls, '
        'enqueueing); inference: the batching thread; learner and rest: the main thread, '
        'prefetching and TensorFlow\'s thread pool (the learner\'s ops, part of inference\'s); '
        'idle: CPU no part used; all cores: the machine\'s CPU time per agent step.')


if __name__ == '__main__':
  app.run(main)
