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


def slurm_step(monkeypatch, rank, local_id, node, num_tasks=4):
  for name, value in dict(SLURM_PROCID=rank, SLURM_LOCALID=local_id, SLURMD_NODENAME=node,
                          SLURM_STEP_NUM_TASKS=num_tasks, SLURM_STEP_NODELIST='node[1-2]').items():
    monkeypatch.setenv(name, str(value))
  # Slurm's scontrol expands the node list where Slurm runs; here, what it would print.
  monkeypatch.setattr(schedulers, 'first_host', lambda nodes: {'node[1-2]': 'localhost'}[nodes])


def test_slurm_task_0_is_the_learner_on_the_first_node(monkeypatch):
  slurm_step(monkeypatch, rank=0, local_id=0, node='localhost')
  assert settings(source='slurm') == dict(job_name='learner', task=0, learner_address='localhost:8001',
                                          num_actor_tasks=3)


def test_slurm_tasks_after_0_are_actors_on_ports_of_their_nodes(monkeypatch):
  slurm_step(monkeypatch, rank=3, local_id=1, node='127.0.0.1')
  assert schedulers.cluster_settings({}, 'slurm', 9000) == dict(
      job_name='actor', task=2, learner_address='localhost:9000', actor_address='127.0.0.1:9001',
      num_actor_tasks=3)


def test_slurm_outside_a_job_step_is_refused(monkeypatch):
  for name in ('SLURM_PROCID', 'SLURM_LOCALID', 'SLURMD_NODENAME'):
    monkeypatch.delenv(name, raising=False)
  with pytest.raises(ValueError, match='--cluster=slurm: not a task of a Slurm job step'):
    settings(source='slurm')


def test_slurm_needs_an_actor_task(monkeypatch):
  slurm_step(monkeypatch, rank=0, local_id=0, node='localhost', num_tasks=1)
  with pytest.raises(ValueError, match='the job step has 1 task; it needs one learner and at least one'):
    settings(source='slurm')


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
