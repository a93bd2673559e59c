"""A cluster task's role and addresses as schedulers describe them, instead of flags.

Either source gives the settings a task is otherwise given by flags (`CLUSTER_FLAGS`):
  TF_CONFIG  the JSON variable TensorFlow's cluster resolvers read, which Kubernetes' TFJob sets:
             {"cluster": {"learner": ["host:port"], "actor": ["host:port", ...]},
              "task": {"type": "actor", "index": 1}}. TFJob's replica types "chief" and "worker"
             stand for "learner" and "actor".
  Slurm      an `srun` job step (`--cluster=slurm`), of one job or spanning the components of a
             heterogeneous job (srun --het-group=0,1): task 0 is the learner, on the first node of
             the step (of het group 0 in a heterogeneous job); task i > 0 is actor task i - 1, on
             its own node. Ports differ from job to job (`slurm_ports`): the learner listens on the
             job's first port, an actor task on the first + 1 + its local task id on its node.
  Kubernetes Jobs (`--cluster=indexed_job`, cluster/kubernetes/impala-indexed-job.yaml): a learner
             Job and an Indexed Job of actor tasks, whose pods the manifest gives
               IMPALA_ROLE             learner or actor
               IMPALA_LEARNER_ADDRESS  the learner pod's host:port (its name under the Jobs'
                                       headless Service, <hostname>.<service>:<port>)
               IMPALA_NUM_ACTOR_TASKS  the actors' Job's completions
             and Kubernetes sets JOB_COMPLETION_INDEX in an Indexed Job's pods: the actor task.
A bad description is refused with one line naming the variable and what is wrong, before any work.
"""
import ipaddress
import json
import os
import re
import subprocess

import tensorflow as tf

CLUSTER_FLAGS = ('job_name', 'task', 'learner_address', 'actor_address', 'num_actor_tasks')
SOURCES = ('auto', 'flags', 'tf_config', 'slurm', 'indexed_job')
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
  what = 'TF_CONFIG' if source == 'tf_config' else f'--cluster={source}'
  clash = [name for name in CLUSTER_FLAGS + ('local_cluster',) if name in given]
  if clash:
    raise ValueError(f'{what} describes this task\'s place in the cluster: leave --{clash[0]} out'
                     + (' (or unset TF_CONFIG)' if source == 'tf_config' else ''))
  if given.get('mode') == 'test':
    raise ValueError(f'{what}: test mode runs on one machine; leave --cluster out')
  if source == 'tf_config':
    return from_tf_config()
  if source == 'indexed_job':
    return from_indexed_job()
  settings = from_slurm(port_base)
  if given.get('run_id'):
    del settings['run_id']  # The run given on the command line, not the job's.
  return settings


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


# Without ports reserved by Slurm, a job's ports are SLURM_PORT_STRIDE ports from --slurm_port_base
# in slot (job id % SLURM_PORT_SLOTS): from the default 8001, slots 0-383 end at 32576, below the
# ports Linux gives outgoing connections (32768 and up).
SLURM_PORT_SLOTS, SLURM_PORT_STRIDE = 384, 64


def from_slurm(port_base):
  """The settings of this task of an srun job step: task 0 the learner, the others actors."""
  env = os.environ
  try:
    rank = int(env['SLURM_PROCID'])
    num_tasks = int(env.get('SLURM_STEP_NUM_TASKS') or env['SLURM_NTASKS'])
    local_id = int(env['SLURM_LOCALID'])
    node = env['SLURMD_NODENAME']
    job_id = int(env['SLURM_JOB_ID'])
    # In a heterogeneous job's step the step's node list is all its components' nodes, sorted by
    # name; the learner, task 0, is on the first node of het group 0 (Slurm 22.05, measured).
    nodes = (env['SLURM_JOB_NODELIST_HET_GROUP_0'] if env.get('SLURM_HET_SIZE') else
             env.get('SLURM_STEP_NODELIST') or env['SLURM_JOB_NODELIST'])
  except (KeyError, ValueError) as e:
    raise ValueError(f'--cluster=slurm: not a task of a Slurm job step ({e} unset or not a number): '
                     'start the tasks with srun') from None
  if num_tasks < 2:
    raise ValueError(f'--cluster=slurm: the job step has {num_tasks} task; it needs one learner and '
                     'at least one actor task (srun --ntasks=2 or more)')
  # The learner, task 0, runs on the first node: Slurm's block, cyclic and plane distributions all
  # put task 0 there. TensorFlow's SlurmClusterResolver is not used: on nodes without GPUs it fails
  # (range() with a step of 0 GPUs per task), it sorts host names as strings (node10 before node2,
  # unlike Slurm's ranks), it orders jobs by name, and it knows no heterogeneous job.
  host = first_host(nodes)
  if rank == 0 and node != host:
    raise ValueError(f'--cluster=slurm: the learner (task 0) runs on {node}, not on {host}, where '
                     'the actor tasks look for it: in a heterogeneous job, start the step with het '
                     'group 0, the learner\'s (srun --het-group=0,1)')
  ports, source = slurm_ports(port_base, job_id, env.get('SLURM_STEP_RESV_PORTS'))
  learner_address = f'{host}:{ports[0]}'
  check_address(learner_address, "--cluster=slurm: the learner's address")
  settings = dict(task=0, job_name='learner', learner_address=learner_address,
                  num_actor_tasks=num_tasks - 1, run_id=f'slurm-{job_id}')
  if rank > 0:
    if 1 + local_id >= len(ports):
      raise ValueError(f'--cluster=slurm: {node} runs more actor tasks of the step than {source} has '
                       f'ports for ({len(ports) - 1} a node besides the learner\'s): run fewer tasks '
                       'a node (srun --ntasks-per-node), each playing more actors')
    settings.update(job_name='actor', task=rank - 1,
                    actor_address=f'{node}:{ports[1 + local_id]}')
  return settings


def slurm_ports(port_base, job_id, reserved=None):
  """(ports, where they come from): the learner listens on ports[0] of its node, the actor task of
  local id i on ports[1 + i] of its node.

  reserved: SLURM_STEP_RESV_PORTS ('12000-12005' or a list of those), the ports Slurm reserved for
  the step on each of its nodes (srun --resv-ports, or every step where slurm.conf's MpiParams
  sets ports): no other step on those nodes has them. Without: SLURM_PORT_STRIDE ports from
  port_base in the job's slot, job id % SLURM_PORT_SLOTS, so two jobs on one node listen on ports
  of their own unless their ids differ by a multiple of SLURM_PORT_SLOTS.
  """
  if reserved:
    ports = []
    try:
      for part in reserved.split(','):
        first, _, last = part.partition('-')
        ports += range(int(first), int(last or first) + 1)
    except ValueError:
      raise ValueError(f'--cluster=slurm: SLURM_STEP_RESV_PORTS={reserved!r} is not a port range '
                       'such as 12000-12005') from None
    if ports:
      return ports, f'SLURM_STEP_RESV_PORTS={reserved}'
  highest = 65536 - SLURM_PORT_SLOTS * SLURM_PORT_STRIDE
  if not 0 < port_base <= highest:
    raise ValueError(f'--slurm_port_base must leave its {SLURM_PORT_SLOTS} slots of '
                     f'{SLURM_PORT_STRIDE} ports below 65536: at most {highest}, got {port_base}')
  first = port_base + job_id % SLURM_PORT_SLOTS * SLURM_PORT_STRIDE
  return (list(range(first, first + SLURM_PORT_STRIDE)),
          f'job {job_id}\'s slot of --slurm_port_base={port_base}')


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


INDEXED_JOB_VARIABLES = ('IMPALA_ROLE', 'IMPALA_LEARNER_ADDRESS', 'IMPALA_NUM_ACTOR_TASKS')


def from_indexed_job():
  """The settings of a pod of the Kubernetes Jobs of cluster/kubernetes/impala-indexed-job.yaml:
  IMPALA_ROLE, IMPALA_LEARNER_ADDRESS and IMPALA_NUM_ACTOR_TASKS from the manifest, and for an
  actor task JOB_COMPLETION_INDEX, which Kubernetes sets in an Indexed Job's pods."""
  env = os.environ
  missing = [name for name in INDEXED_JOB_VARIABLES if not env.get(name)]
  if missing:
    raise ValueError(f'--cluster=indexed_job: {missing[0]} is not set: the pods of '
                     'cluster/kubernetes/impala-indexed-job.yaml have ' + ', '.join(
                         INDEXED_JOB_VARIABLES))
  role, address = env['IMPALA_ROLE'], env['IMPALA_LEARNER_ADDRESS']
  if role not in ('learner', 'actor'):
    raise ValueError(f"--cluster=indexed_job: IMPALA_ROLE must be 'learner' or 'actor', got {role!r}")
  check_address(address, '--cluster=indexed_job: IMPALA_LEARNER_ADDRESS')
  tasks = env['IMPALA_NUM_ACTOR_TASKS']
  if not tasks.isdigit() or int(tasks) < 1:
    raise ValueError('--cluster=indexed_job: IMPALA_NUM_ACTOR_TASKS must be the number of actor '
                     f'tasks (the actors\' Job\'s completions), got {tasks!r}')
  settings = dict(job_name=role, task=0, learner_address=address, num_actor_tasks=int(tasks))
  if role == 'actor':
    index = env.get('JOB_COMPLETION_INDEX', '')
    if not index.isdigit() or int(index) >= int(tasks):
      raise ValueError(f'--cluster=indexed_job: an actor task\'s JOB_COMPLETION_INDEX must be in '
                       f'0-{int(tasks) - 1} (IMPALA_NUM_ACTOR_TASKS={tasks}; Kubernetes sets it in '
                       f'a Job of completionMode: Indexed), got {index!r}')
    settings['task'] = int(index)
  return settings


def check_address(address, what):
  """ValueError unless `address` is host:port: a host name or IP address ([...] for IPv6) and a port
  in range. Whether the host resolves is not asked here: a scheduler may publish a task's name only
  once the task is up (the training operator's headless Services, once its pod is Ready), and the
  task that connects to it waits for it (runtime.learner_link.wait_for_learner)."""
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
