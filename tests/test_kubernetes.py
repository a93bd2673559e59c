"""The Kubernetes manifests of cluster/kubernetes/, against Kubernetes' schemas and what the program reads.

Kubernetes' own kinds (Job, Service, PersistentVolumeClaim, NetworkPolicy, the TFJob's pod templates)
are validated with kubernetes-validate's schemas, strict (an unknown field is an error, as kubectl's
server-side field validation makes it), for the oldest Kubernetes the manifests need (1.31:
podFailurePolicy) and the newest the package knows. The TFJob is validated against the v1 TFJob
CRD's schema of the training operator v1.9.0 (tests/data/tfjob-v1-crd-schema.json, whose $comment
names its source), unknown fields refused as there.
"""
import copy
import json
import os
import re
import subprocess
import sys

import jsonschema
import kubernetes_validate
import pytest
import yaml

import configuration
from runtime import schedulers
from tests.test_distributed import REPO, free_port

MANIFESTS = os.path.join(REPO, 'cluster', 'kubernetes')
TFJOB, INDEXED_JOB = 'impala-tfjob.yaml', 'impala-indexed-job.yaml'
KUBERNETES_VERSIONS = ('1.31.0', kubernetes_validate.utils.latest_version())
# The operator's restart policies (pkg/apis/kubeflow.org/v1/common_types.go, v1.9.0): the CRD's
# schema has restartPolicy as any string, the operator's webhook refuses others.
TFJOB_RESTART_POLICIES = ('Always', 'OnFailure', 'Never', 'ExitCode')
PERMANENT = list(range(1, 128))  # A configuration error's exit codes; 128-255 are retried.
GPU_COMMENT = '# limits: {nvidia.com/gpu: 1}'


def read(name, gpu=False):
  """The objects of manifest `name`; gpu: with the learner's commented GPU request in."""
  with open(os.path.join(MANIFESTS, name)) as f:
    text = f.read()
  if gpu:
    assert text.count(GPU_COMMENT) == 1
    text = text.replace(GPU_COMMENT, GPU_COMMENT[2:])
  return list(yaml.safe_load_all(text))


def tfjob_schema():
  with open(os.path.join(REPO, 'tests', 'data', 'tfjob-v1-crd-schema.json')) as f:
    return strict(json.load(f))


def strict(schema):
  """`schema` refusing fields it does not name, as the API server does for a CRD's objects under
  kubectl's strict field validation (where no x-kubernetes-preserve-unknown-fields allows them)."""
  if isinstance(schema, dict):
    schema = {key: strict(value) if key != 'properties' else
              {name: strict(field) for name, field in value.items()} for key, value in schema.items()}
    if ('properties' in schema and 'additionalProperties' not in schema
        and not schema.get('x-kubernetes-preserve-unknown-fields')):
      schema['additionalProperties'] = False
  elif isinstance(schema, list):
    schema = [strict(item) for item in schema]
  return schema


def validate(obj, schema=None):
  """Raises jsonschema's ValidationError (or kubernetes_validate's) for an invalid object."""
  if obj['kind'] == 'TFJob':
    jsonschema.Draft202012Validator(schema or tfjob_schema()).validate(obj)
    for name, replica in obj['spec']['tfReplicaSpecs'].items():  # Kubernetes' own pod templates.
      validate({'apiVersion': 'v1', 'kind': 'PodTemplate', 'metadata': {'name': name.lower()},
                'template': replica['template']})
    return
  for version in KUBERNETES_VERSIONS:
    kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize('gpu', [False, True], ids=['as-is', 'with-the-gpu'])
@pytest.mark.parametrize('name', [TFJOB, INDEXED_JOB])
def test_the_manifests_are_valid(name, gpu):
  for obj in read(name, gpu):
    validate(obj)


def edit(objects, kind, change):
  """A copy of `objects` with `change` applied to the first object of `kind`."""
  objects = copy.deepcopy(objects)
  change(next(obj for obj in objects if obj['kind'] == kind))
  return objects


def job(objects, name):
  return next(obj for obj in objects if obj['kind'] == 'Job' and obj['metadata']['name'] == name)


BREAKAGES = {
    'an unknown field': (INDEXED_JOB, 'Job', lambda o: o['spec'].update(backofflimit=3)),
    'a count as text': (INDEXED_JOB, 'Job', lambda o: o['spec'].update(backoffLimit='ten')),
    'an exit code rule without its operator': (
        INDEXED_JOB, 'Job', lambda o: o['spec']['podFailurePolicy']['rules'][1]['onExitCodes'].pop(
            'operator')),
    'exit codes as a range': (
        INDEXED_JOB, 'Job', lambda o: o['spec']['podFailurePolicy']['rules'][1]['onExitCodes'].update(
            values='1-127')),
    'a container without a name': (
        INDEXED_JOB, 'Job', lambda o: o['spec']['template']['spec']['containers'][0].pop('name')),
    'a Service port as text': (INDEXED_JOB, 'Service', lambda o: o['spec']['ports'][0].update(
        port='learner')),
    'a misspelt replica field': (TFJOB, 'TFJob', lambda o: o['spec']['tfReplicaSpecs']['Chief'].update(
        restartpolicy='ExitCode')),
    'a run policy field the operator has not': (
        TFJOB, 'TFJob', lambda o: o['spec']['runPolicy'].update(backoffLimits=3)),
    'replicas as text': (TFJOB, 'TFJob', lambda o: o['spec']['tfReplicaSpecs']['Worker'].update(
        replicas='six')),
    "a pod template's unknown field": (
        TFJOB, 'TFJob', lambda o: o['spec']['tfReplicaSpecs']['Worker']['template']['spec'][
            'containers'][0].update(comand=['python'])),
}


@pytest.mark.parametrize('breakage', BREAKAGES)
def test_a_broken_manifest_fails_validation(breakage):
  name, kind, change = BREAKAGES[breakage]
  broken = edit(read(name), kind, change)
  with pytest.raises(jsonschema.ValidationError):
    for obj in broken:
      validate(obj)


def containers(obj):
  templates = ([replica['template'] for replica in obj['spec']['tfReplicaSpecs'].values()]
               if obj['kind'] == 'TFJob' else [obj['spec']['template']])
  return [container for template in templates for container in template['spec']['containers']]


@pytest.mark.parametrize('name', [TFJOB, INDEXED_JOB])
def test_each_manifest_names_an_image_to_replace_and_a_gpu_to_request(name):
  with open(os.path.join(MANIFESTS, name)) as f:
    text = f.read()
  images = {c['image'] for obj in read(name) if obj['kind'] in ('TFJob', 'Job')
            for c in containers(obj)}
  assert images == {'registry.example.com/impala:latest'} and 'replace registry.example.com' in text
  learner = (read(name, gpu=True)[0]['spec']['tfReplicaSpecs']['Chief']['template'] if name == TFJOB
             else job(read(name, gpu=True), 'impala-pong-learner')['spec']['template'])
  assert learner['spec']['containers'][0]['resources']['limits'] == {'nvidia.com/gpu': 1}


def test_the_tfjob_restarts_on_the_programs_retryable_exit_codes():
  """ExitCode: the operator restarts a replica that ended with 128-255 and fails the job on 1-127
  (v1.9.0's IsRetryableExitCode), as the program's exit codes mean (docs/cluster.md)."""
  [tfjob] = [obj for obj in read(TFJOB) if obj['kind'] == 'TFJob']
  assert tfjob['spec']['runPolicy']['backoffLimit'] > 0
  for replica in tfjob['spec']['tfReplicaSpecs'].values():
    assert replica['restartPolicy'] == 'ExitCode' and 'ExitCode' in TFJOB_RESTART_POLICIES
  with open(os.path.join(MANIFESTS, TFJOB)) as f:
    assert 'v1.9' in f.read()  # The operator version it needs, said.


@pytest.mark.parametrize('name', ['impala-pong-learner', 'impala-pong-actors'])
def test_the_jobs_fail_on_configuration_errors_and_retry_the_rest(name):
  spec = job(read(INDEXED_JOB), name)['spec']
  assert spec['backoffLimit'] > 0 and spec['podReplacementPolicy'] == 'Failed'
  assert spec['template']['spec']['restartPolicy'] == 'Never'  # podFailurePolicy needs it.
  [container] = spec['template']['spec']['containers']
  ignore, fail = spec['podFailurePolicy']['rules']
  assert ignore == {'action': 'Ignore', 'onPodConditions': [{'type': 'DisruptionTarget',
                                                             'status': 'True'}]}
  assert fail == {'action': 'FailJob', 'onExitCodes': {'containerName': container['name'],
                                                       'operator': 'In', 'values': PERMANENT}}


def environment(container):
  return {variable['name']: variable['value'] for variable in container['env']}


def flags(container):
  assert container['command'][:2] == ['python', 'experiment.py']
  return dict(flag.lstrip('-').split('=') for flag in container['command'][2:])


def test_the_indexed_jobs_pods_take_their_roles_from_what_kubernetes_sets(monkeypatch):
  """Each pod of impala-indexed-job.yaml, with the environment the manifest and Kubernetes give it."""
  objects = read(INDEXED_JOB)
  learner, actors = job(objects, 'impala-pong-learner'), job(objects, 'impala-pong-actors')
  [service] = [obj for obj in objects if obj['kind'] == 'Service']
  [learner_container] = learner['spec']['template']['spec']['containers']
  [actor_container] = actors['spec']['template']['spec']['containers']
  address = environment(learner_container)['IMPALA_LEARNER_ADDRESS']
  # The learner's address is its pod's name under the headless Service, at its container's port.
  pod = learner['spec']['template']['spec']
  assert service['spec']['clusterIP'] == 'None' and service['spec']['publishNotReadyAddresses']
  assert address == (f'{pod["hostname"]}.{pod["subdomain"]}:'
                     f'{learner_container["ports"][0]["containerPort"]}')
  assert pod['subdomain'] == actors['spec']['template']['spec']['subdomain'] == \
      service['metadata']['name']
  for obj in (learner, actors):
    assert service['spec']['selector'].items() <= obj['spec']['template']['metadata']['labels'].items()
  assert actors['spec']['completionMode'] == 'Indexed'
  tasks = actors['spec']['completions']
  assert actors['spec']['parallelism'] == tasks
  for container in (learner_container, actor_container):
    assert environment(container)['IMPALA_NUM_ACTOR_TASKS'] == str(tasks)
    assert environment(container)['IMPALA_LEARNER_ADDRESS'] == address

  def pod_settings(container, index=None):
    for name in schedulers.INDEXED_JOB_VARIABLES + ('JOB_COMPLETION_INDEX', 'TF_CONFIG'):
      monkeypatch.delenv(name, raising=False)
    for name, value in environment(container).items():
      monkeypatch.setenv(name, value)
    if index is not None:
      monkeypatch.setenv('JOB_COMPLETION_INDEX', str(index))
    return configuration.with_cluster_settings(flags(container))

  given = pod_settings(learner_container)
  config = configuration.build(**dict(given, num_actors=int(given['num_actors'])))
  assert (config.job_name, config.task, config.learner_address) == ('learner', 0, address)
  assert config.num_actor_tasks == tasks and config.num_actors % tasks == 0
  for index in range(tasks):
    given = pod_settings(actor_container, index)
    assert (given['job_name'], given['task'], given['learner_address']) == ('actor', index, address)
    assert given['num_actor_tasks'] == tasks


def test_the_indexed_jobs_pods_train_together(tmp_path):
  """The learner's and 2 actor tasks' commands and environments from impala-indexed-job.yaml, run
  on this machine (the learner's name replaced by localhost, the run made small): Pong to a
  budget of 3,200 frames, every task ending with 0."""
  objects = read(INDEXED_JOB)
  [learner] = job(objects, 'impala-pong-learner')['spec']['template']['spec']['containers']
  [actor] = job(objects, 'impala-pong-actors')['spec']['template']['spec']['containers']
  small = dict(IMPALA_LEARNER_ADDRESS=f'localhost:{free_port()}', IMPALA_NUM_ACTOR_TASKS='2')
  learner_flags = dict(flags(learner), num_actors='2', batch_size='2', logdir=str(tmp_path / 'run'),
                       total_environment_frames='3200', checkpoint_secs='5')
  tasks = [subprocess.Popen(
      [sys.executable, 'experiment.py', *(f'--{name}={value}' for name, value in learner_flags.items())],
      cwd=REPO, env={**os.environ, **environment(learner), **small}, stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, text=True)]
  for index in range(2):
    tasks.append(subprocess.Popen(
        [sys.executable, *actor['command'][1:]], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **environment(actor), **small, 'JOB_COMPLETION_INDEX': str(index)}))
  try:
    logs = [task.communicate(timeout=300)[0] for task in tasks]
  finally:
    for task in tasks:
      task.kill()
  assert [task.returncode for task in tasks] == [0, 0, 0], '\n'.join(log[-3000:] for log in logs)
  assert all('The learner has finished: stopping.' in log for log in logs[1:])
  assert [re.search(r'Actor task (\d) plays actors', log).group(1) for log in logs[1:]] == ['0', '1']
