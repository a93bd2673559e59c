"""One actor's rate on a real DeepMind Lab level: what benchmarks/learner_ingest.py divides a
learner's ingest by, to say how many actors one learner absorbs.

One actor as the runtime plays it (runtime.acting): its environment in a process of its own, the
agent's inference at batch 1 in this process, unrolls stacked by its actor thread and handed on (here
counted, not sent). Timed from its first unroll on (level start-up and the first map's compile left
out) for `seconds`; the maps of the episodes that start meanwhile compile in the window, as they do
in training. CPU time is this process's (inference, the actor thread) and the environment
process's with the processes it waited for (DeepMind Lab's map compiles).
"""
import resource
import tempfile
import threading
import time

from runtime import startup
startup.import_tensorflow_quietly()  # TensorFlow's start-up notices filtered, as in experiment.py.
import tree  # pylint: disable=wrong-import-position,g-import-not-at-top

import configuration  # pylint: disable=wrong-import-position
import environments  # pylint: disable=wrong-import-position
from environments import proc_stat  # pylint: disable=wrong-import-position
from runtime import acting  # pylint: disable=wrong-import-position
from runtime import agents  # pylint: disable=wrong-import-position
from runtime import progress  # pylint: disable=wrong-import-position
from runtime import trajectories  # pylint: disable=wrong-import-position


def _own_cpu_seconds():
  usage = resource.getrusage(resource.RUSAGE_SELF)
  return usage.ru_utime + usage.ru_stime


def measure(level_name, network, unroll_length, seconds, start_timeout=900.):
  """{'steps_per_second': agent steps/s of the actor, 'cpu_per_step': CPU seconds per agent step of
  its environment (and compiles) and its inference, 'steps_per_core_second': 1 / cpu_per_step,
  'episodes': episodes that ended in the window, 'seconds': the window}; RuntimeError if its
  environment process was replaced meanwhile (its CPU time would be lost) or nothing arrived."""
  with tempfile.TemporaryDirectory() as logdir:
    config = configuration.build(level_name=level_name, network=network, use_lstm=True,
                                 unroll_length=unroll_length, num_actors=1, actor_threads=1,
                                 envs_per_process=1, logdir=logdir)
    groups = acting.start_environments(config, [0], is_test=False,
                                       env_factory=environments.create_environment)
    env = groups[0].process
    stop = progress.Stop()
    arrived = threading.Condition()
    unrolls = []  # (time, this process's CPU, the environment's CPU, episodes ended) at each unroll.
    pool = None

    def count(flat):
      done = tree.unflatten_as(example, flat).env_outputs.done  # [1, T + 1]; step 0 is the last's.
      with arrived:
        unrolls.append((time.monotonic(), _own_cpu_seconds(), proc_stat.cpu_seconds(
            env.pid), int(done[0, 1:].sum())))
        arrived.notify_all()

    try:
      agent = agents.build_agent(config, env.spec)
      example = trajectories.unroll_example(agent, env.spec, unroll_length)
      pool = acting.ActorPool(config, groups, agent, env.spec, count, stop)
      with arrived:
        if not arrived.wait_for(lambda: unrolls or stop.event.is_set(), start_timeout):
          raise RuntimeError(f'{level_name}: no unroll within {start_timeout:g} s')
        first = len(unrolls) - 1
        if not arrived.wait_for(lambda: unrolls[-1][0] - unrolls[first][0] >= seconds
                                or stop.event.is_set(), seconds + start_timeout):
          raise RuntimeError(f'{level_name}: the actor stalled')
      if stop.error is not None:
        raise stop.error
      restarts = env.restarts
    finally:
      stop.event.set()
      if pool is not None:
        pool.close()
      acting.close_environments(groups)
  if restarts:
    raise RuntimeError(f'{level_name}: the environment process was replaced during the measurement, '
                       'and its CPU time with it: run it again')
  (t0, own0, env0, _), (t1, own1, env1, _) = unrolls[first], unrolls[-1]
  steps = (len(unrolls) - 1 - first) * unroll_length
  cpu_per_step = (own1 - own0 + env1 - env0) / steps
  return dict(steps_per_second=steps / (t1 - t0), cpu_per_step=cpu_per_step,
              steps_per_core_second=1 / cpu_per_step, seconds=t1 - t0,
              episodes=sum(u[3] for u in unrolls[first + 1:]))
