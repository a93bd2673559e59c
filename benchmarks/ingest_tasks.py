"""The two programs of benchmarks/learner_ingest.py, each run on a network-namespace host:

    python benchmarks/ingest_tasks.py learner '<settings as JSON>'
    python benchmarks/ingest_tasks.py actor '<settings as JSON>'

Both take the cluster path of runtime/cluster.py: the learner's TensorFlow server serves the
trajectory queue and the weights by name (runtime.learner_link), and an actor task joins it as a job
of its own. An actor task here has no environment and no inference: it enqueues one unroll of
DeepMind Lab's shape (trajectories.Unroll, random frames) over and over, and fetches the learner's
weights after each enqueue as a real actor task does, as fast as the learner takes them. The learner
takes batches off the queue with runtime.prefetch's Prefetcher, as the real learner does, and with
'train' also trains on them and publishes its weights after each step. Once every actor task's
unrolls have arrived and `warmup_secs` more have passed, it measures for `seconds` and writes what it
measured to `result_path` (JSON).
"""
import collections
import json
import os
import resource
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from runtime import startup  # pylint: disable=wrong-import-position
startup.import_tensorflow_quietly()  # TensorFlow's start-up notices filtered, as in experiment.py.
import numpy as np  # pylint: disable=wrong-import-position,g-import-not-at-top
import tensorflow as tf  # pylint: disable=wrong-import-position,g-import-not-at-top
import tree  # pylint: disable=wrong-import-position,g-import-not-at-top

from benchmarks import proc_cpu  # pylint: disable=wrong-import-position
import configuration  # pylint: disable=wrong-import-position
import environments  # pylint: disable=wrong-import-position
from runtime import agents  # pylint: disable=wrong-import-position
from runtime import cluster  # pylint: disable=wrong-import-position
from runtime import learner as learner_lib  # pylint: disable=wrong-import-position
from runtime import learner_link  # pylint: disable=wrong-import-position
from runtime import prefetch  # pylint: disable=wrong-import-position
from runtime import trajectories  # pylint: disable=wrong-import-position

# The synthetic level has DeepMind Lab's shapes (72x96x3 frames, instructions, 9 actions) and needs
# no DeepMind Lab.
LEVEL = 'synthetic/dmlab'
INSTRUCTION = b'Find the green object on the left'  # A DMLab-30 language level's length of words.


def build(settings):
  """(Config, agent, an Unroll example) of the benchmark's network and shapes."""
  config = configuration.build(
      level_name=LEVEL, network=settings['network'], use_lstm=True, batch_size=settings['batch_size'],
      unroll_length=settings['unroll_length'], logdir=settings['workdir'])
  spec = environments.environment_spec(LEVEL, config.env_config)
  agent = agents.build_agent(config, spec)
  return config, agent, trajectories.unroll_example(agent, spec, config.unroll_length)


def filled_unrolls(example, actor, count, seed):
  """`count` unrolls like `example`, flattened for the queue, from actor task `actor`: random frames,
  rewards, actions and logits, an instruction every step, a random LSTM state."""
  rng = np.random.default_rng(seed)

  def fill(x):
    if x.dtype == object:
      return np.full(x.shape, INSTRUCTION if x.shape else b'synthetic/dmlab', object)
    if x.dtype == np.uint8:
      return rng.integers(0, 256, x.shape, np.uint8)
    if x.dtype == bool:
      return rng.random(x.shape) < 0.01
    return rng.standard_normal(x.shape).astype(x.dtype) if x.dtype.kind == 'f' else (
        rng.integers(0, 9, x.shape).astype(x.dtype))

  unroll = tree.map_structure(fill, example)._replace(actor=np.int32(actor))
  return tree.flatten(trajectories.stack([unroll] * count))


def payload_bytes(flat):
  """What the leaves of `flat` hold: arrays' bytes, strings' UTF-8 bytes (no framing, no padding)."""
  return sum(sum(len(s) for s in x.ravel()) if x.dtype == object else x.nbytes for x in flat)


def thread_groups():
  """CPU seconds this process's threads have used so far, by what they do (TensorFlow's and gRPC's
  threads by the names they give themselves; a profile shows gRPC's call handling in the unnamed
  ones): the learner's loop (the main thread), the Prefetcher's thread (dequeue_many: the batching),
  gRPC's I/O threads (event_engine, grpc*), TensorFlow's compute pool (tf_*: the queue's kernels and
  copies), and the unnamed rest (gRPC's and TensorFlow's request handlers, and TensorFlow's op
  threads, which run most of a training step). Ended threads are in none."""
  names = {thread.native_id: thread.name for thread in threading.enumerate()}
  groups = collections.Counter()
  task_dir = f'/proc/{os.getpid()}/task'
  for tid in os.listdir(task_dir):
    try:
      with open(f'{task_dir}/{tid}/comm') as f:
        comm = f.read().strip()
    except OSError:
      continue
    name = names.get(int(tid), '')
    group = ('learner loop' if name == 'MainThread' else 'prefetch' if name == 'prefetch' else
             'gRPC I/O' if comm.startswith(('event_engine', 'grpc')) else
             'TF compute' if comm.startswith('tf_') else 'handlers')
    groups[group] += proc_cpu.ticks(f'{task_dir}/{tid}/stat')
  return {group: ticks / os.sysconf('SC_CLK_TCK') for group, ticks in groups.items()}


def network_bytes(interface='eth0'):
  """(received, sent) bytes of this network namespace's `interface` so far; (0, 0) without it."""
  with open('/proc/self/net/dev') as f:
    for line in f:
      name, _, counts = line.partition(':')
      if name.strip() == interface:
        fields = counts.split()
        return int(fields[0]), int(fields[8])
  return 0, 0


def machine_ticks():
  """The machine's CPU clock ticks since boot, /proc/stat's first line: user, nice, system, idle,
  iowait, irq, softirq, steal."""
  with open('/proc/stat') as f:
    return [int(x) for x in f.readline().split()[1:9]]


def snapshot(unrolls, steps, prefetcher, actor_pids):
  usage = resource.getrusage(resource.RUSAGE_SELF)
  return dict(time=time.monotonic(), unrolls=unrolls, steps=steps,
              learner_cpu=usage.ru_utime + usage.ru_stime, threads=thread_groups(),
              learner_waited=prefetcher.wait_seconds, network=network_bytes(),
              actor_cpu=proc_cpu.processes_cpu_seconds(actor_pids) if actor_pids else float('nan'),
              machine=machine_ticks())


def difference(start, end):
  """What happened between two snapshots; the machine's CPU in cores used, by kind (all cores)."""
  ticks = [b - a for a, b in zip(start['machine'], end['machine'])]
  seconds = end['time'] - start['time']
  hz = os.sysconf('SC_CLK_TCK')
  user, nice, system, _, _, irq, softirq, steal = (t / hz / seconds for t in ticks)
  return dict(
      seconds=seconds, unrolls=end['unrolls'] - start['unrolls'], steps=end['steps'] - start['steps'],
      learner_cpu=end['learner_cpu'] - start['learner_cpu'],
      threads={g: end['threads'][g] - start['threads'].get(g, 0.) for g in end['threads']},
      learner_waited=end['learner_waited'] - start['learner_waited'],
      received=end['network'][0] - start['network'][0], sent=end['network'][1] - start['network'][1],
      actor_cpu=end['actor_cpu'] - start['actor_cpu'], cores=os.cpu_count(),
      machine=dict(processes=user + nice + system, interrupts=irq + softirq, steal=steal))


def read_pids(path):
  try:
    with open(path) as f:
      return [int(pid) for pid in f.read().split()]
  except OSError:
    return []


def run_learner(settings):
  """Serves the queue and the weights, takes batches until the window is measured; writes the result."""
  tf.config.experimental_connect_to_cluster(
      tf.train.ClusterSpec({'learner': [settings['learner_address']]}), job_name='learner',
      task_index=0)
  config, agent, example = build(settings)
  queue = trajectories.make_trajectory_queue(example, config.batch_size, learner_link.SHARED_DEVICE)
  weights = learner_link.SharedWeights(agent.trainable_variables)
  weights.publish()
  run = learner_link.SharedRun()
  run.set_state(learner_link.RUNNING)
  device = learner_lib.learner_device()
  prefetcher = prefetch.Prefetcher(queue, example, config.batch_size, device)
  train_step = (learner_lib.Learner(agent, config).compiled_step(example, config.batch_size)
                if settings['train'] else None)
  timed_out = threading.Event()
  timer = threading.Timer(settings['timeout_secs'], timed_out.set)
  timer.start()
  seen, unrolls, steps, start, warm_from = set(), 0, 0, None, None
  try:
    while True:
      prefetched = prefetcher.get(timed_out)
      if prefetched is None:
        raise TimeoutError(
            f'the run did not end within {settings["timeout_secs"]} s: unrolls from actor tasks '
            f'{sorted(seen)} of {settings["actor_tasks"]} arrived ({unrolls} in all)')
      if train_step is not None:
        with tf.device(device):
          train_step(prefetched.step_input)['total_loss'].numpy()
        weights.publish()
        steps += 1
      unrolls += config.batch_size
      if warm_from is None:
        seen.update(np.asarray(prefetched.batch.unrolls.actor).tolist())
        if len(seen) == settings['actor_tasks']:
          warm_from = time.monotonic()
      elif start is None and time.monotonic() - warm_from >= settings['warmup_secs']:
        start = snapshot(unrolls, steps, prefetcher, read_pids(settings['pids_path']))
      elif start is not None and time.monotonic() - start['time'] >= settings['seconds']:
        end = snapshot(unrolls, steps, prefetcher, read_pids(settings['pids_path']))
        break
  finally:
    timer.cancel()
    run.set_state(learner_link.FINISHED)
    queue.close(cancel_pending_enqueues=True)
    prefetcher.close()
  result = difference(start, end)
  result.update(unroll_bytes=payload_bytes(filled_unrolls(example, 0, 1, seed=0)),
                weights_bytes=sum(v.numpy().nbytes for v in agent.trainable_variables))
  with open(settings['result_path'], 'w') as f:
    json.dump(result, f)


def run_actor(settings):
  """Enqueues unrolls as fast as the learner takes them (and fetches its weights after each, if
  'fetch_weights'), until the learner closes its queue."""
  # gRPC's keepalive pings on the channels to the learner, as a real actor task sets them.
  os.environ.setdefault('TF_GRPC_DEFAULT_OPTIONS',
                        f'grpc.keepalive_time_ms={cluster.KEEPALIVE_SECS * 1000},'
                        f'grpc.keepalive_timeout_ms={cluster.KEEPALIVE_SECS * 1000}')
  address = settings['learner_address']
  learner_link.wait_for_learner(address, settings['timeout_secs'])
  job = f'actor_{settings["task"]}'
  tf.config.experimental_connect_to_cluster(
      tf.train.ClusterSpec({'learner': [address], job: [settings['actor_address']]}),
      job_name=job, task_index=0)
  _, agent, example = build(settings)
  queue = trajectories.make_trajectory_queue(example, settings['batch_size'],
                                             learner_link.SHARED_DEVICE)
  weights = learner_link.SharedWeights(agent.trainable_variables)
  run = learner_link.SharedRun()
  deadline = time.monotonic() + settings['timeout_secs']
  while run.state() != learner_link.RUNNING:
    if time.monotonic() > deadline:
      sys.exit(f'Error: the learner at {address} did not start within {settings["timeout_secs"]} s')
    time.sleep(0.5)
  flat = filled_unrolls(example, settings['task'], settings['unrolls_per_enqueue'],
                        seed=settings['task'])
  enqueues = 0
  try:
    while True:
      queue.enqueue_many(flat)
      if settings['fetch_weights']:
        weights.fetch()
      enqueues += 1
  except tf.errors.OpError as e:  # The learner closed its queue, or ended.
    print(f'Actor task {settings["task"]}: {enqueues} enqueues, then {type(e).__name__}.')


if __name__ == '__main__':
  role, given = sys.argv[1], json.loads(sys.argv[2])
  {'learner': run_learner, 'actor': run_actor}[role](given)
