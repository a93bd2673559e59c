"""A cluster task's role from TF_CONFIG (Kubernetes' TFJob) or a Slurm job step, and bad ones refused."""
import json
import re
import subprocess
import sys

import pytest

import configuration
from runtime import schedulers
from tests.test_distributed import REPO

LEARNER, ACTORS = 'localhost:8001', ['localhost:8002', '127.0.0.1:8003', 'localhost:8004']


def tf_config(monkeypatch, cluster, task):
  monkeypatch.setenv('TF_CONFIG', json.dumps({'cluster': cluster, 'task': task}))


def settings(given=None, source='auto'):
  return schedulers.cluster_settings(given or {}, source, 8001)


@pytest.mark.parametrize('learner_job,actor_job', [('learner', 'actor'), ('chief', 'worker')])
def test_tf_config_gives_an_actor_its_role_and_addresses(monkeypatch, learner_job, actor_job):
  tf_config(monkeypatch, {learner_job: [LEARNER], actor_job: ACTORS}, {'type': actor_job, 'index': 1})
  assert settings() == dict(job_name='actor', task=1, learner_address=LEARNER,
                            actor_address='127.0.0.1:8003', num_actor_tasks=3)


@pytest.mark.parametrize('learner_job,actor_job', [('learner', 'actor'), ('chief', 'worker')])
def test_tf_config_gives_the_learner_its_role(monkeypatch, learner_job, actor_job):
  tf_config(monkeypatch, {learner_job: [LEARNER], actor_job: ACTORS}, {'type': learner_job, 'index': 0})
  assert settings() == dict(job_name='learner', task=0, learner_address=LEARNER, num_actor_tasks=3)


def test_the_settings_make_a_checked_config(monkeypatch):
  tf_config(monkeypatch, {'chief': [LEARNER], 'worker': ACTORS}, {'type': 'worker', 'index': 2})
  given = configuration.with_cluster_settings({'num_actors': 6})
  config = configuration.build(**given)
  assert (config.job_name, config.task, config.num_actor_tasks) == ('actor', 2, 3)


def test_without_tf_config_flags_decide(monkeypatch):
  monkeypatch.delenv('TF_CONFIG', raising=False)
  assert settings({'job_name': 'actor', 'task': 1}) == {}


def test_test_mode_ignores_the_cluster_tf_config_describes(monkeypatch):
  tf_config(monkeypatch, {'learner': [LEARNER], 'actor': ACTORS}, {'type': 'actor', 'index': 0})
  assert settings({'mode': 'test'}) == {}


@pytest.mark.parametrize('text,message', [
    ('{"cluster": {"learner": ["localhost:8001"]', 'TF_CONFIG is not valid JSON'),
    ('{"cluster": ["localhost:8001"], "task": {"type": "learner", "index": 0}}', 'TF_CONFIG is malformed'),
    ('{"cluster": {"learner": ["localhost:8001"], "actor": ["localhost:8002"]}, '
     '"task": {"type": "actor", "index": 1}}',
     "TF_CONFIG: task index 1 is out of range: the cluster has 1 'actor' task (0-0)"),
    ('{"cluster": {"chief": ["localhost:8001"], "worker": ["localhost:8002"]}, '
     '"task": {"type": "worker", "index": -1}}', 'TF_CONFIG: task index -1 is out of range'),
    ('{"cluster": {"learner": ["localhost:8001"], "ps": ["localhost:8002"]}, '
     '"task": {"type": "learner", "index": 0}}', "TF_CONFIG: job 'ps' has no role here"),
    ('{"cluster": {"learner": ["localhost:8001"], "chief": ["localhost:8002"], "actor": ["a:1"]}, '
     '"task": {"type": "learner", "index": 0}}', "TF_CONFIG: the jobs 'learner' and 'chief' both name the learners"),
    ('{"cluster": {"learner": ["localhost:8001", "localhost:8005"], "actor": ["localhost:8002"]}, '
     '"task": {"type": "learner", "index": 0}}', 'TF_CONFIG: the cluster needs one learner address'),
    ('{"cluster": {"learner": ["localhost:8001"]}, "task": {"type": "learner", "index": 0}}',
     "TF_CONFIG: the cluster needs the actor tasks' addresses"),
    ('{"cluster": {"learner": ["localhost:8001"], "actor": ["localhost:8002"]}}',
     'TF_CONFIG: "task" must have a "type" among the cluster\'s jobs'),
    ('{"cluster": {"learner": ["localhost"], "actor": ["localhost:8002"]}, '
     '"task": {"type": "learner", "index": 0}}', "TF_CONFIG's learner address must be host:port"),
    ('{"cluster": {"learner": ["grpc://localhost:8001"], "actor": ["localhost:8002"]}, '
     '"task": {"type": "actor", "index": 0}}',
     "TF_CONFIG's learner address must be host:port, got 'grpc://localhost:8001'"),
    ('{"cluster": {"learner": ["localhost:8001"], "actor": ["localhost:80020"]}, '
     '"task": {"type": "actor", "index": 0}}',
     "TF_CONFIG's actor address must be host:port, got 'localhost:80020'"),
])
def test_a_bad_tf_config_is_refused_with_one_line(monkeypatch, text, message):
  monkeypatch.setenv('TF_CONFIG', text)
  with pytest.raises(ValueError, match='^' + message.replace('(', r'\(').replace(')', r'\)')) as e:
    settings()
  assert '\n' not in str(e.value)


def test_cluster_flags_beside_tf_config_are_refused(monkeypatch):
  tf_config(monkeypatch, {'learner': [LEARNER], 'actor': ACTORS}, {'type': 'actor', 'index': 0})
  with pytest.raises(ValueError, match=r"TF_CONFIG describes this task's place in the cluster: leave "
                     r'--task out \(or unset TF_CONFIG\)'):
    settings({'task': 1})


SLURM_VARIABLES = ('SLURM_PROCID', 'SLURM_LOCALID', 'SLURMD_NODENAME', 'SLURM_JOB_ID', 'SLURM_NTASKS',
                   'SLURM_STEP_NUM_TASKS', 'SLURM_STEP_NODELIST', 'SLURM_JOB_NODELIST',
                   'SLURM_STEP_RESV_PORTS', 'SLURM_HET_SIZE', 'SLURM_JOB_NODELIST_HET_GROUP_0')
# What Slurm's scontrol prints for these node lists where Slurm runs.
HOSTS = {'node[1-2]': ['localhost', 'node2'], 'cpu[1-2],gpu1': ['cpu1', 'cpu2', 'gpu1'],
         'gpu1': ['gpu1']}


def slurm_step(monkeypatch, rank, local_id, node, num_tasks=4, job_id=7, **more):
  """This process as task `rank` of a Slurm job step (more: further variables, as NAME=value)."""
  for name in SLURM_VARIABLES:
    monkeypatch.delenv(name, raising=False)
  for name, value in {**dict(SLURM_PROCID=rank, SLURM_LOCALID=local_id, SLURMD_NODENAME=node,
                             SLURM_JOB_ID=job_id, SLURM_STEP_NUM_TASKS=num_tasks,
                             SLURM_STEP_NODELIST='node[1-2]'), **more}.items():
    monkeypatch.setenv(name, str(value))
  monkeypatch.setattr(schedulers, 'first_host', lambda nodes: HOSTS[nodes][0])


def slurm_settings(base=8001, given=None):
  return schedulers.cluster_settings(given or {}, 'slurm', base)


def test_slurm_task_0_is_the_learner_on_the_first_node(monkeypatch):
  slurm_step(monkeypatch, rank=0, local_id=0, node='localhost', job_id=7)
  assert slurm_settings() == dict(job_name='learner', task=0, learner_address='localhost:8449',
                                  num_actor_tasks=3, run_id='slurm-7')


def test_slurm_tasks_after_0_are_actors_on_ports_of_their_nodes(monkeypatch):
  slurm_step(monkeypatch, rank=3, local_id=1, node='node2', job_id=7)
  # Job 7's slot: 64 ports from 9000 + 7 * 64; the learner on the first, actor tasks after it.
  assert slurm_settings(9000) == dict(
      job_name='actor', task=2, learner_address='localhost:9448', actor_address='node2:9450',
      num_actor_tasks=3, run_id='slurm-7')


def addresses(monkeypatch, job_id, ranks_on_node=4, **more):
  """The addresses the tasks of job `job_id` listen on, all on one node."""
  ports = []
  for rank in range(ranks_on_node):
    slurm_step(monkeypatch, rank=rank, local_id=rank, node='localhost', job_id=job_id,
               num_tasks=ranks_on_node, **more)
    settings = slurm_settings()
    ports.append(settings.get('actor_address', settings['learner_address']))
  return ports


@pytest.mark.parametrize('first_job', [1, 383, 5000, 2 ** 31])
def test_two_jobs_on_one_node_listen_on_ports_of_their_own(monkeypatch, first_job):
  first, second = addresses(monkeypatch, first_job), addresses(monkeypatch, first_job + 1)
  assert len(set(first)) == 4 and not set(first) & set(second)
  for address in first + second:  # From --slurm_port_base, below the ports of outgoing connections.
    assert 8001 <= int(address.rpartition(':')[2]) < 32768


def test_ports_slurm_reserved_for_the_step_come_first(monkeypatch):
  assert addresses(monkeypatch, 7, SLURM_STEP_RESV_PORTS='12001-12003,12010-12011') == [
      'localhost:12001', 'localhost:12003', 'localhost:12010', 'localhost:12011']


@pytest.mark.parametrize('more,message', [
    (dict(), 'localhost runs more actor tasks of the step than job 7\'s slot of '
             '--slurm_port_base=8001 has ports for (63 a node besides the learner\'s)'),
    (dict(SLURM_STEP_RESV_PORTS='12001-12005'), 'localhost runs more actor tasks of the step than '
     'SLURM_STEP_RESV_PORTS=12001-12005 has ports for (4 a node besides the learner\'s)'),
])
def test_more_tasks_on_a_node_than_ports_are_refused(monkeypatch, more, message):
  slurm_step(monkeypatch, rank=70, local_id=70, node='localhost', num_tasks=80, **more)
  with pytest.raises(ValueError, match='^--cluster=slurm: ' + re.escape(message)):
    slurm_settings()


def test_a_port_base_without_room_for_its_slots_is_refused(monkeypatch):
  slurm_step(monkeypatch, rank=0, local_id=0, node='localhost')
  with pytest.raises(ValueError, match='^--slurm_port_base must leave its 384 slots of 64 ports below '
                     '65536: at most 40960, got 40961$'):
    slurm_settings(40961)


def test_bad_reserved_ports_are_refused(monkeypatch):
  slurm_step(monkeypatch, rank=0, local_id=0, node='localhost', SLURM_STEP_RESV_PORTS='12001-x')
  with pytest.raises(ValueError, match="SLURM_STEP_RESV_PORTS='12001-x' is not a port range"):
    slurm_settings()


def test_the_run_given_wins_over_the_job_id(monkeypatch):
  slurm_step(monkeypatch, rank=0, local_id=0, node='localhost')
  assert 'run_id' not in slurm_settings(given={'run_id': 'mine'})


# A heterogeneous job's step (srun --het-group=0,1) as Slurm 22.05 describes it to every task
# (measured with cluster/slurm/local_slurm.sh): SLURM_PROCID counts across the components, the job's
# and step's node lists are all the components' nodes, sorted by name, and the _HET_GROUP_ variables
# are the job's components'.
HET_STEP = dict(SLURM_HET_SIZE=2, SLURM_STEP_NODELIST='cpu[1-2],gpu1', SLURM_JOB_NODELIST_HET_GROUP_0='gpu1')


def test_a_heterogeneous_step_has_the_learner_on_het_group_0s_node(monkeypatch):
  slurm_step(monkeypatch, rank=0, local_id=0, node='gpu1', num_tasks=7, job_id=3, **HET_STEP)
  assert slurm_settings() == dict(job_name='learner', task=0, learner_address='gpu1:8193',
                                  num_actor_tasks=6, run_id='slurm-3')
  slurm_step(monkeypatch, rank=5, local_id=1, node='cpu2', num_tasks=7, job_id=3, **HET_STEP)
  assert slurm_settings() == dict(job_name='actor', task=4, learner_address='gpu1:8193',
                                  actor_address='cpu2:8195', num_actor_tasks=6, run_id='slurm-3')


def test_a_learner_off_its_node_is_refused(monkeypatch):
  """A step of het group 1 alone has task 0 on group 1's node, where no actor task looks for it."""
  slurm_step(monkeypatch, rank=0, local_id=0, node='cpu1', **HET_STEP)
  with pytest.raises(ValueError, match=r'^--cluster=slurm: the learner \(task 0\) runs on cpu1, not on '
                     r'gpu1, where the actor tasks look for it: .* \(srun --het-group=0,1\)$'):
    slurm_settings()


def test_slurm_outside_a_job_step_is_refused(monkeypatch):
  for name in SLURM_VARIABLES:
    monkeypatch.delenv(name, raising=False)
  with pytest.raises(ValueError, match='--cluster=slurm: not a task of a Slurm job step'):
    settings(source='slurm')


def test_slurm_needs_an_actor_task(monkeypatch):
  slurm_step(monkeypatch, rank=0, local_id=0, node='localhost', num_tasks=1)
  with pytest.raises(ValueError, match='the job step has 1 task; it needs one learner and at least one'):
    settings(source='slurm')


def indexed_job_pod(monkeypatch, **variables):
  for name in schedulers.INDEXED_JOB_VARIABLES + ('JOB_COMPLETION_INDEX',):
    monkeypatch.delenv(name, raising=False)
  for name, value in variables.items():
    monkeypatch.setenv(name, str(value))


LEARNER_POD = dict(IMPALA_ROLE='learner', IMPALA_LEARNER_ADDRESS='impala-pong-learner.impala-pong:2222',
                   IMPALA_NUM_ACTOR_TASKS=6)


def test_an_indexed_job_gives_the_learner_and_the_actor_tasks_their_roles(monkeypatch):
  indexed_job_pod(monkeypatch, **LEARNER_POD)
  assert settings(source='indexed_job') == dict(
      job_name='learner', task=0, learner_address='impala-pong-learner.impala-pong:2222',
      num_actor_tasks=6)
  indexed_job_pod(monkeypatch, **dict(LEARNER_POD, IMPALA_ROLE='actor'), JOB_COMPLETION_INDEX=5)
  assert settings(source='indexed_job') == dict(
      job_name='actor', task=5, learner_address='impala-pong-learner.impala-pong:2222',
      num_actor_tasks=6)


@pytest.mark.parametrize('variables,message', [
    (dict(LEARNER_POD, IMPALA_ROLE=''), 'IMPALA_ROLE is not set: the pods of '
     'cluster/kubernetes/impala-indexed-job.yaml have IMPALA_ROLE, IMPALA_LEARNER_ADDRESS, '
     'IMPALA_NUM_ACTOR_TASKS'),
    (dict(LEARNER_POD, IMPALA_ROLE='chief'), "IMPALA_ROLE must be 'learner' or 'actor', got 'chief'"),
    (dict(LEARNER_POD, IMPALA_LEARNER_ADDRESS='impala-pong-learner'),
     "IMPALA_LEARNER_ADDRESS must be host:port, got 'impala-pong-learner'"),
    (dict(LEARNER_POD, IMPALA_NUM_ACTOR_TASKS='0'), 'IMPALA_NUM_ACTOR_TASKS must be the number of '
     "actor tasks (the actors' Job's completions), got '0'"),
    (dict(LEARNER_POD, IMPALA_ROLE='actor'), "an actor task's JOB_COMPLETION_INDEX must be in 0-5 "
     "(IMPALA_NUM_ACTOR_TASKS=6; Kubernetes sets it in a Job of completionMode: Indexed), got ''"),
    (dict(LEARNER_POD, IMPALA_ROLE='actor', JOB_COMPLETION_INDEX=6), "an actor task's JOB_COMPLETION_INDEX must be in "
     "0-5 (IMPALA_NUM_ACTOR_TASKS=6; Kubernetes sets it in a Job of completionMode: Indexed), got '6'"),
])
def test_a_bad_indexed_job_pod_is_refused_with_one_line(monkeypatch, variables, message):
  indexed_job_pod(monkeypatch, **variables)
  with pytest.raises(ValueError, match='^--cluster=indexed_job: ' + re.escape(message) + '$'):
    settings(source='indexed_job')


def test_names_that_do_not_resolve_yet_are_accepted(monkeypatch):
  """A scheduler may publish a task's name only once it is up: the task that connects waits for it
  (tests/test_cluster_lifecycle.py), and nothing refuses it before."""
  tf_config(monkeypatch, {'chief': ['no-such-host.invalid:2222'], 'worker': ['worker-0.invalid:2222']},
            {'type': 'worker', 'index': 0})
  assert settings()['learner_address'] == 'no-such-host.invalid:2222'
  config = configuration.build(job_name='actor', task=0, learner_address='no-such-host.invalid:8001',
                               actor_address='[::1]:8002')
  assert config.learner_address == 'no-such-host.invalid:8001'


@pytest.mark.parametrize('address', ['no-port', 'host:', 'host:0', 'host:65536', 'host:8o01',
                                     'http://host:8001', 'two words:8001', '[not-ipv6]:8001', ':8001'])
def test_malformed_addresses_are_refused_at_once(address):
  with pytest.raises(ValueError, match=f"^--learner_address must be host:port, got '{re.escape(address)}'$"):
    configuration.build(job_name='actor', task=0, learner_address=address)


def test_the_program_refuses_a_bad_tf_config_in_one_line_before_any_work(tmp_path):
  env = {'TF_CONFIG': '{"cluster": {"learner": ["localhost:8001"], "actor": ["localhost:8002"]}, '
                      '"task": {"type": "actor", "index": 4}}', 'PATH': '/usr/bin:/bin'}
  result = subprocess.run([sys.executable, 'experiment.py', '--level_name=atari/pong',
                           f'--logdir={tmp_path / "run"}'], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1] == (
      "Error: TF_CONFIG: task index 4 is out of range: the cluster has 1 'actor' task (0-0)")
  assert not (tmp_path / 'run').exists()  # Nothing was started or written.


def test_the_kubernetes_manifest_runs_roles_the_program_accepts(monkeypatch):
  """Each replica of cluster/kubernetes/impala-tfjob.yaml, with the TF_CONFIG the operator gives it."""
  with open(f'{REPO}/cluster/kubernetes/impala-tfjob.yaml') as f:
    manifest = f.read()
  commands = re.findall(r'command: \[python, experiment\.py, ([^\]]*)\]', manifest)
  replicas = dict(re.findall(r'^    (Chief|Worker):\n      replicas: (\d+)', manifest, re.MULTILINE))
  assert len(commands) == 2 and commands[0] == commands[1]  # Every pod runs the same settings.
  flags = dict(flag.strip().lstrip('-').split('=') for flag in commands[0].split(','))
  workers = int(replicas['Worker'])
  # The operator's addresses resolve inside the cluster, not here: nothing asks before connecting.
  for job, index in [('chief', 0)] + [('worker', i) for i in range(workers)]:
    tf_config(monkeypatch, {'chief': ['impala-pong-chief-0.default.svc:2222'],
                            'worker': [f'impala-pong-worker-{i}.default.svc:2222'
                                       for i in range(workers)]}, {'type': job, 'index': index})
    given = dict(flags, num_actors=int(flags['num_actors']))
    config = configuration.build(**configuration.with_cluster_settings(given))
    assert (config.job_name, config.task) == ('learner' if job == 'chief' else 'actor', index)
    assert config.num_actor_tasks == workers and config.num_actors % workers == 0
