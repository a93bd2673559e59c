"""A cluster task's role and addresses as schedulers describe them, instead of flags.

Either source gives the settings a task is otherwise given by flags (`CLUSTER_FLAGS`):
  TF_CONFIG  the JSON variable TensorFlow's cluster resolvers read, which Kubernetes' TFJob sets:
             {"cluster": {"learner": ["host:port"], "actor": ["host:port", ...]},
              "task": {"type": "actor", "index": 1}}. TFJob's replica types "chief" and "worker"
             stand for "learner" and "actor".
  Slurm      an `srun` job step (`--cluster=slurm`): task 0 is the learner, listening on the step's
             first node at --slurm_port_base; task i > 0 is actor task i - 1, listening on its own
             node at --slurm_port_base + its local task id.
A bad description is refused with one line naming the variable and what is wrong, before any work.
"""
import ipaddress
import json
import os
import re
import subprocess

import tensorflow as tf

CLUSTER_FLAGS = ('job_name', 'task', 'learner_address', 'actor_address', 'num_actor_tasks')
SOURCES = ('auto', 'flags', 'tf_config', 'slurm')
# TF_CONFIG's job names, IMPALA's and TFJob's, and the job each is.
ROLES = {'learner': 'learner', 'chief': 'learner', 'actor': 'actor', 'worker': 'actor'}


def cluster_settings(given, source, port_base):
  """The settings this task's scheduler gives it ({} when flags describe it, or nothing does).

  given: the settings given on the command line; those that the scheduler decides are refused.
  source: --cluster; port_base: --slurm_port_base. Raises ValueError with one line for a
  description that is malformed or out of range.
  """
  if source == 'auto':
    if not os.environ.get('TF_CONFIG') or given.get('mode') == 'test':
      return {}  # Test mode runs on one machine, whatever cluster the environment describes.
    source = 'tf_config'
  if source == 'flags':
    return {}
  what = 'TF_CONFIG' if source == 'tf_config' else '--cluster=slurm'
  clash = [name for name in CLUSTER_FLAGS + ('local_cluster',) if name in given]
  if clash:
    raise ValueError(f'{what} describes this task\'s place in the cluster: leave --{clash[0]} out'
                     + (' (or unset TF_CONFIG)' if source == 'tf_config' else ''))
  if given.get('mode') == 'test':
    raise ValueError(f'{what}: test mode runs on one machine; leave --cluster out')
  if source == 'tf_config':
    return from_tf_config()
  return from_slurm(port_base)


def from_tf_config():
  """The settings TF_CONFIG gives, read by TensorFlow's TFConfigClusterResolver."""
  resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
  try:
    jobs = resolver.cluster_spec().as_dict()
    task_type, index = resolver.task_type, resolver.task_id
  except json.JSONDecodeError as e:
    raise ValueError(f'TF_CONFIG is not valid JSON: {e}') from None
  except (TypeError, ValueError, AttributeError) as e:
    raise ValueError(f'TF_CONFIG is malformed ({e}): expected {{"cluster": {{"learner": ["host:port"], '
                     '"actor": ["host:port", ...]}, "task": {"type": ..., "index": ...}}') from None
  unknown = sorted(set(jobs) - set(ROLES))
  if unknown:
    raise ValueError(f'TF_CONFIG: job {unknown[0]!r} has no role here: the learner is "learner" (or '
                     'TFJob\'s "chief"), the actors "actor" (or "worker")')
  learner = _only_job(jobs, 'learner')
  actors = _only_job(jobs, 'actor')
  if learner is None or len(jobs[learner]) != 1:
    raise ValueError('TF_CONFIG: the cluster needs one learner address, in "learner" or "chief"')
  if actors is None or not jobs[actors]:
    raise ValueError('TF_CONFIG: the cluster needs the actor tasks\' addresses, in "actor" or '
                     '"worker"')
  if task_type not in (learner, actors):
    raise ValueError(f'TF_CONFIG: "task" must have a "type" among the cluster\'s jobs '
                     f'({learner!r}, {actors!r}), got {task_type!r}')
  num_tasks = len(jobs[task_type])
  if index is None or not 0 <= index < num_tasks:
    raise ValueError(f'TF_CONFIG: task index {index} is out of range: the cluster has {num_tasks} '
                     f'{task_type!r} task{"s" * (num_tasks != 1)} (0-{num_tasks - 1})')
  settings = dict(job_name=ROLES[task_type], task=index, learner_address=jobs[learner][0],
                  num_actor_tasks=len(jobs[actors]))
  if task_type == actors:
    settings['actor_address'] = jobs[actors][index]
  for name in ('learner_address', 'actor_address'):
    if name in settings:
      check_address(settings[name], f"TF_CONFIG's {name.split('_')[0]} address")
  return settings


def _only_job(jobs, role):
  """The one job name of `jobs` that plays `role`, or None; ValueError for two."""
  names = [name for name in jobs if ROLES[name] == role]
  if len(names) > 1:
    raise ValueError(f'TF_CONFIG: the jobs {names[0]!r} and {names[1]!r} both name the {role}s: '
                     'give one of them')
  return names[0] if names else None


def from_slurm(port_base):
  """The settings of this task of an srun job step: task 0 the learner, the others actors."""
  try:
    rank = int(os.environ['SLURM_PROCID'])
    num_tasks = int(os.environ.get('SLURM_STEP_NUM_TASKS') or os.environ['SLURM_NTASKS'])
    local_id = int(os.environ['SLURM_LOCALID'])
    node = os.environ['SLURMD_NODENAME']
    nodes = os.environ.get('SLURM_STEP_NODELIST') or os.environ['SLURM_JOB_NODELIST']
  except (KeyError, ValueError) as e:
    raise ValueError(f'--cluster=slurm: not a task of a Slurm job step ({e} unset or not a number): '
                     'start the tasks with srun') from None
  if num_tasks < 2:
    raise ValueError(f'--cluster=slurm: the job step has {num_tasks} task; it needs one learner and '
                     'at least one actor task (srun --ntasks=2 or more)')
  # The learner, task 0, runs on the step's first node: Slurm's block, cyclic and plane distributions
  # all put task 0 there. TensorFlow's SlurmClusterResolver is not used: on nodes without GPUs it
  # fails (range() with a step of 0 GPUs per task), it sorts host names as strings (node10 before
  # node2, unlike Slurm's ranks), and it orders jobs by name.
  learner_address = f'{first_host(nodes)}:{port_base}'
  check_address(learner_address, "--cluster=slurm: the learner's address")
  settings = dict(task=0, job_name='learner', learner_address=learner_address,
                  num_actor_tasks=num_tasks - 1)
  if rank > 0:
    settings.update(job_name='actor', task=rank - 1, actor_address=f'{node}:{port_base + local_id}')
  return settings


def first_host(nodelist):
  """The first host of a Slurm host list such as 'node[1-4],gpu7', expanded by Slurm's scontrol."""
  try:
    hosts = subprocess.run(['scontrol', 'show', 'hostnames', nodelist], capture_output=True,
                           text=True, check=True, timeout=60).stdout.split()
  except (OSError, subprocess.SubprocessError) as e:
    raise ValueError(f'--cluster=slurm: cannot expand the node list {nodelist!r} with scontrol: {e}')
  if not hosts:
    raise ValueError(f'--cluster=slurm: the node list {nodelist!r} names no host')
  return hosts[0]


def check_address(address, what):
  """ValueError unless `address` is host:port: a host name or IP address ([...] for IPv6) and a port
  in range. Whether the host resolves is not asked here: a scheduler may publish a task's name only
  once the task is up (the training operator's headless Services, once its pod is Ready), and the
  task that connects to it waits for it (runtime.cluster.wait_for_learner)."""
  host, _, port = address.rpartition(':')
  if not (port.isdigit() and 0 < int(port) < 65536 and _is_host(host)):
    raise ValueError(f'{what} must be host:port, got {address!r}')


def _is_host(host):
  """Whether `host` is written as a host name or an IP address (not whether it resolves)."""
  if host.startswith('[') and host.endswith(']'):
    try:
      return ipaddress.ip_address(host[1:-1]).version == 6
    except ValueError:
      return False
  return re.fullmatch(r'[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?', host) is not None
