"""The Dockerfile and its scripts, checked without building the image.

The build itself (about half an hour on 2 cores) is a long form: `docker/build_offline.sh`, then
`benchmarks/docker_image.py`, whose results are in benchmarks/results/docker_image.md. These checks
keep the Dockerfile buildable by every common builder (plain syntax, no frontend image, no heredoc
RUN), its scripts honest (they exist, stop at their first error, refuse what is missing at once,
naming the build argument), its build arguments at the user's defaults, DeepMind Lab built by the
recipe of the repository, the project installed by `make install` with requirements.txt's pins,
the offline sources kept out of the image, the suite run, and its default command well-formed.
The README's and docs/' commands are checked in tests/test_doc_commands.py.
"""
import collections
import filecmp
import fnmatch
import glob
import os
import re
import shlex
import socket
import subprocess

import pytest

from tests.commands_lib import experiment_commands
from tests.commands_lib import flag_problems
from tests.commands_lib import flag_values
from tests.commands_lib import logical_lines
from tests.commands_lib import shell_tokens

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = 'docker/dmlab_recipe'
# Where the recipe comes from: the shared folder beside the repository on the project's machines.
SHARED_DMLAB = os.path.join(REPO, '..', 'shared', 'dmlab')
# The last upstream commit of google-deepmind/lab, the one the recipe was proven with.
DMLAB_COMMIT = 'b1db91af5b4d2f3a24466f4632a3e5e1b0829cca'
# What build.sh writes next to itself when run without WORK / WHEEL_DIR: outputs, not recipe.
RECIPE_OUTPUTS = ('work', 'wheel')
# The build arguments and the user's defaults (docs/docker.md, "Build arguments"). BASE_IMAGE is
# checked apart: a Debian 12 point release.
BUILD_ARGUMENTS = {
    'DMLAB_MIRROR': '', 'BRADY_KONKLE_OLIVA2008_URL': 'https://bradylab.ucsd.edu/stimuli/ObjectsAll.zip',
    'TENSORFLOW_EXTRA': '', 'DMLAB_BUILD_JOBS': '2',
}
# Options only BuildKit knows: the classic builder, podman and buildah 1.28 refuse or misread them.
BUILDKIT_ONLY = ('--mount', '--link', '--chmod', '--exclude', '--parents', '--security', '--network')

Instruction = collections.namedtuple('Instruction', 'keyword arguments line stage')


def read(name):
  with open(os.path.join(REPO, name)) as f:
    return f.read()


# --- Reading a Dockerfile --------------------------------------------------------------------------

def parse_dockerfile(text):
  """Instructions with continuation lines joined and comments dropped, each with its stage's name."""
  lines = text.splitlines()
  instructions = []
  stage = None
  i = 0
  while i < len(lines):
    line, number = lines[i], i + 1
    i += 1
    if not line.strip() or line.lstrip().startswith('#'):
      continue
    while line.rstrip().endswith('\\') and i < len(lines):
      following = lines[i]
      i += 1
      if following.lstrip().startswith('#'):
        continue  # A comment inside a continued instruction is dropped; the instruction goes on.
      line = line.rstrip()[:-1] + ' ' + following.strip()
    keyword, _, arguments = line.strip().partition(' ')
    if keyword.upper() == 'FROM':
      stage = arguments.split()[-1] if ' AS ' in arguments.upper() else None
    instructions.append(Instruction(keyword.upper(), arguments.strip(), number, stage))
  return instructions


def stage_of(instructions, name):
  steps = [step for step in instructions if step.stage == name]
  assert steps, f'the Dockerfile has no stage {name!r}'
  return steps


def copy_sources(step):
  """The sources of a COPY or ADD (its last argument is the destination)."""
  return [token for token in step.arguments.split() if not token.startswith('--')][:-1]


def scripts_run(instructions):
  """{path in the repository: the RUN step} of every script a RUN step runs with bash."""
  copied = {}  # Path in the image: path in the repository.
  for step in instructions:
    if step.keyword == 'COPY' and '--from=' not in step.arguments:
      *sources, destination = step.arguments.split()
      for source in sources:
        target = destination + os.path.basename(source) if destination.endswith('/') else destination
        copied[target] = source
  scripts = {}
  for step in instructions:
    if step.keyword != 'RUN':
      continue
    tokens = shlex.split(step.arguments)
    for before, token in zip(tokens, tokens[1:]):
      if before == 'bash':
        assert token in copied, f'line {step.line}: runs {token}, which no COPY put in the image'
        scripts[copied[token]] = step
  return scripts


def build_arguments(instructions):
  """{name: default} of the ARG steps (the same name may be declared in several stages)."""
  defaults = {}
  for step in instructions:
    if step.keyword == 'ARG':
      name, _, default = step.arguments.partition('=')
      assert defaults.setdefault(name, default) == default, f'ARG {name}: two defaults'
  return defaults


def requirement_pins():
  pins = {}
  for line in read('requirements.txt').splitlines():
    line = line.split('#')[0].strip()
    if line:
      name, separator, version = line.partition('==')
      assert separator, f'requirements.txt: {line!r} is not pinned with =='
      pins[normalize(name)] = version.strip()
  return pins


def normalize(name):
  return re.sub(r'[-_.]+', '-', name.split('[')[0]).lower()


def dockerignore_patterns():
  lines = read('.dockerignore').splitlines()
  return [line.strip().lstrip('/') for line in lines if line.strip() and not line.startswith('#')]


def is_ignored(path, patterns):
  """Whether .dockerignore leaves `path` (or a folder it is in) out of the build context."""
  parts = path.strip('/').split('/')
  prefixes = ['/'.join(parts[:n]) for n in range(1, len(parts) + 1)]
  for pattern in patterns:
    candidates = [pattern] + ([pattern[3:]] if pattern.startswith('**/') else [])
    if any(fnmatch.fnmatchcase(prefix, p) for prefix in prefixes for p in candidates):
      return True
  return False


def recipe_files(root):
  """Paths of the files under root, relative to it, without build.sh's output folders."""
  paths = []
  for folder, folders, files in os.walk(root):
    if folder == root:
      folders[:] = [name for name in folders if name not in RECIPE_OUTPUTS]
    paths += [os.path.relpath(os.path.join(folder, name), root) for name in files]
  return sorted(paths)


def run_script(name, *arguments, env=None, path=None):
  environment = dict(os.environ, **(env or {}))
  if path is not None:
    environment['PATH'] = path
  return subprocess.run(['bash', os.path.join(REPO, 'docker', name), *arguments], cwd=REPO,
                        env=environment, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(name='dockerfile', scope='module')
def fixture_dockerfile():
  return parse_dockerfile(read('Dockerfile'))


# --- Every builder reads it -------------------------------------------------------------------------

def test_every_builder_reads_it_offline(dockerfile):
  text = read('Dockerfile')
  # `# syntax=` makes BuildKit pull a frontend image before it starts: offline, that fails.
  assert not re.search(r'^#\s*syntax\s*=', text, re.MULTILINE | re.IGNORECASE)
  # Heredoc RUN steps: buildah 1.28 reads their lines as instructions ("Unknown instruction: SET").
  assert not re.search(r'<<-?\s*["\']?[A-Za-z_]', text)
  for step in dockerfile:
    assert step.keyword in ('FROM', 'ARG', 'ENV', 'RUN', 'COPY', 'WORKDIR', 'CMD'), step
    assert not [option for option in BUILDKIT_ONLY if option in step.arguments], step


def test_the_build_arguments_have_the_users_defaults(dockerfile):
  defaults = build_arguments(dockerfile)
  assert {name: defaults.get(name) for name in BUILD_ARGUMENTS} == BUILD_ARGUMENTS
  # Debian 12 (bookworm) gives the recipe its Bazel (bazel-bootstrap 4.2.3) and -dev packages, and
  # Debian's python3 is the Python 3.11 make install wants; a point release pins it.
  assert re.fullmatch(r'debian:12\.[0-9]+', defaults['BASE_IMAGE']), defaults['BASE_IMAGE']
  assert re.search(r'python3\.11', read('Makefile'))
  first = next(step for step in dockerfile if step.keyword == 'FROM')
  assert first.arguments == '--platform=linux/amd64 ${BASE_IMAGE} AS system'  # x86-64 only.
  assert dockerfile.index(first) == 1  # Only ARG BASE_IMAGE before it.
  # Every other stage starts from that one, or from one of its own.
  stages = ['system']
  for step in dockerfile:
    if step.keyword == 'FROM' and step is not first:
      base, _, name = step.arguments.split()
      assert base in stages, step
      stages.append(name)
  # Each argument is read where it is declared: by a script its stage runs, or by the step itself.
  scripts = scripts_run(dockerfile)
  for name in BUILD_ARGUMENTS:
    declared = next(step for step in dockerfile if step.keyword == 'ARG' and step.arguments.startswith(name))
    readers = [read(path) for path, step in scripts.items() if step.stage == declared.stage]
    readers += [step.arguments for step in dockerfile if step.stage == declared.stage
                and step.keyword == 'RUN']
    assert any(re.search(r'\$\{?' + name + r'\b', text) for text in readers), name


def test_every_script_it_runs_exists_and_stops_at_its_first_error(dockerfile):
  scripts = scripts_run(dockerfile)
  assert {'docker/install_system.sh', 'docker/fetch_stimuli.sh', 'docker/build_dmlab.sh'} <= set(scripts)
  cmd = [step for step in dockerfile if step.keyword == 'CMD'][-1]
  assert cmd.arguments == '["bash", "docker/demo.sh"]'
  # Those, the default command's, and make image's: every script of docker/.
  others = {'docker/demo.sh', 'docker/build_image.sh', 'docker/build_offline.sh'}
  assert set(scripts) | others == set(os.path.relpath(path, REPO)
                                      for path in glob.glob(os.path.join(REPO, 'docker', '*.sh')))
  for path in set(scripts) | others:
    lines = [line for line in read(path).splitlines() if line.strip() and not line.startswith('#')]
    assert read(path).startswith('#!/usr/bin/env bash\n'), path
    assert lines[0] == 'set -euo pipefail', f'{path}: {lines[0]}'
    syntax = subprocess.run(['bash', '-n', os.path.join(REPO, path)], capture_output=True, text=True,
                            check=False)
    assert syntax.returncode == 0, syntax.stderr


# --- What it builds, and from what ------------------------------------------------------------------

def test_builds_deepmind_lab_with_the_recipe_of_the_repository(dockerfile):
  dmlab = stage_of(dockerfile, 'dmlab')
  copies = {source: step.arguments.split()[-1] for step in dmlab if step.keyword == 'COPY'
            for source in copy_sources(step)}
  assert copies[RECIPE] == '/opt/dmlab_recipe' and 'docker/sources' in copies
  script = read('docker/build_dmlab.sh')
  call = next(shell_tokens(line) for line in logical_lines(script) if '$recipe/build.sh' in line)
  environment = dict(token.split('=', 1) for token in call if '=' in token)
  assert environment['MIRROR'] == '${DMLAB_MIRROR:-}' and environment['JOBS'] == '${DMLAB_BUILD_JOBS}'
  assert 'recipe=/opt/dmlab_recipe' in script
  # The extension is built against requirements.txt's NumPy, the one .venv holds.
  assert re.search(r"numpy=\$\(grep -E '\^numpy==' /opt/docker/requirements.txt\)", script)
  assert 'python3-dev' in script  # Python.h: Debian's python3 alone lacks it (measured).
  # Containers deny linux-sandbox's namespaces; without any sandbox the build fails (measured).
  assert "echo 'build --spawn_strategy=processwrapper-sandbox'" in script
  # Only the wheel leaves the stage.
  final = stage_of(dockerfile, 'impala')
  assert [step.arguments for step in final if '--from=dmlab' in step.arguments] == [
      '--from=dmlab /opt/dmlab_wheel /opt/dmlab_wheel']


def test_recipe_pins_deepmind_lab_and_takes_bazel_from_debian():
  build_sh = read(f'{RECIPE}/build.sh')
  assert re.search(rf'^LAB_REV={DMLAB_COMMIT}\b', build_sh, re.MULTILINE)
  # Every source revision is a commit or a release tag, never a branch that moves.
  revisions = dict(re.findall(r'^([A-Z_]+_REV)=(\S+)', build_sh, re.MULTILINE))
  assert len(revisions) >= 6, revisions
  for name, revision in revisions.items():
    assert re.fullmatch(r'[0-9a-f]{40}|v?[0-9]+(\.[0-9]+)+', revision), f'{name}={revision}'
  apt = [shell_tokens(line) for line in logical_lines(build_sh) if 'apt-get install -y' in line]
  assert len(apt) == 1 and 'bazel-bootstrap' in apt[0], 'the recipe no longer installs Debian\'s Bazel'
  text = read('Dockerfile') + ''.join(read(f'docker/{name}') for name in os.listdir(
      os.path.join(REPO, 'docker')) if name.endswith('.sh'))
  assert 'bazelbuild/bazel/releases' not in text and 'bazelisk' not in text


def test_recipe_is_a_verbatim_copy_of_the_shared_one():
  # The image needed no change to the recipe: what it needed (python3-dev, the sandbox) is in
  # docker/build_dmlab.sh, which calls the recipe as it is.
  shared = os.path.join(SHARED_DMLAB, 'recipe')
  if not os.path.isdir(shared):
    pytest.skip(f'{os.path.normpath(shared)} is not beside the repository (only on the project\'s machines)')
  copy = os.path.join(REPO, RECIPE)
  expected = recipe_files(shared)
  assert [path for path in recipe_files(copy) if path != 'README.md'] == expected
  assert 'README.md' not in expected  # Else the shared README would overwrite a recipe file.
  _, mismatch, errors = filecmp.cmpfiles(shared, copy, expected, shallow=False)
  assert mismatch + errors == []
  assert filecmp.cmp(os.path.join(SHARED_DMLAB, 'README.md'), os.path.join(copy, 'README.md'),
                     shallow=False)


def test_recipe_has_the_files_its_build_script_uses():
  build_sh = read(f'{RECIPE}/build.sh')
  patches = glob.glob(os.path.join(REPO, RECIPE, '0*.patch'))  # What build.sh applies.
  assert len(patches) >= 2
  named = set(re.findall(r'0[0-9]{3}-[\w.-]+\.patch', build_sh))
  assert named == {os.path.basename(patch) for patch in patches}
  for patch in patches:
    with open(patch) as f:
      text = f.read()
    assert re.search(r'^--- a/\S+\n\+\+\+ b/\S+\n@@ ', text, re.MULTILINE), f'{patch}: not a -p1 diff'
  used = set(re.findall(r'\$HERE/([\w.-]+)', build_sh)) - set(RECIPE_OUTPUTS)
  assert {'WORKSPACE.offline', 'system_build'} <= used
  assert [name for name in used if not os.path.exists(os.path.join(REPO, RECIPE, name))] == []
  build_files = re.findall(r'"@//system_build:([\w.]+)"', read(f'{RECIPE}/WORKSPACE.offline'))
  assert build_files and all(os.path.isfile(os.path.join(REPO, RECIPE, 'system_build', name))
                             for name in build_files)


def test_installs_the_project_with_make_and_the_pins_of_requirements(dockerfile):
  final = stage_of(dockerfile, 'impala')
  runs = [step.arguments for step in final if step.keyword == 'RUN']
  install = next(run for run in runs if run.startswith('make install'))
  assert 'TENSORFLOW_EXTRA="${TENSORFLOW_EXTRA}"' in install
  assert 'DMLAB_WHEEL=/opt/dmlab_wheel/deepmind_lab-1.0-py3-none-any.whl' in install
  copied = [source for step in final[:[s.arguments for s in final].index(install)]
            if step.keyword == 'COPY' and '--from=' not in step.arguments for source in copy_sources(step)]
  assert copied == ['requirements.txt', 'Makefile']  # Editing the project reinstalls nothing.
  # Any other pip install of the build names a package requirements.txt pins, at its pin.
  pins = requirement_pins()
  for path in scripts_run(dockerfile):
    for line in logical_lines(read(path)):
      for match in re.finditer(r'\bpip3? install\b(.*?)(?=&&|;|\|\||$)', line):
        for argument in shlex.split(match.group(1)):
          if argument.startswith('-'):
            continue
          assert argument == '$numpy', f'{path}: pip install {argument}'
  assert 'numpy' in pins


def test_the_gpu_variant_is_tensorflow_with_its_cuda_extra_at_the_pinned_version():
  pin = requirement_pins()['tensorflow']
  dry_runs = {extra: subprocess.run(['make', '-n', '-B', 'install', f'TENSORFLOW_EXTRA={extra}'],
                                    cwd=REPO, capture_output=True, text=True, check=True).stdout
              for extra in ('', 'and-cuda')}
  assert f'"tensorflow[and-cuda]=={pin}"' in dry_runs['and-cuda']
  assert 'tensorflow[' not in dry_runs['']
  assert '-r requirements.txt' in dry_runs['and-cuda'] and '-r requirements.txt' in dry_runs['']


def test_copies_only_what_exists_and_is_not_ignored(dockerfile):
  patterns = dockerignore_patterns()
  for step in dockerfile:
    if step.keyword != 'COPY' or '--from=' in step.arguments:
      continue
    for source in copy_sources(step):
      assert os.path.exists(os.path.join(REPO, source)), f'line {step.line}: {source} does not exist'
      if source != '.':
        assert not is_ignored(source, patterns), f'line {step.line}: .dockerignore excludes {source}'


def test_dockerignore_keeps_the_host_venv_out_and_the_tests_in():
  patterns = dockerignore_patterns()
  assert is_ignored('.venv', patterns) and is_ignored('.venv/bin/python', patterns)
  needed = ['Dockerfile', '.dockerignore', 'README.md', 'Makefile', 'requirements.txt', 'pytest.ini',
            'experiment.py', 'runtime/config.py', 'tests/test_dockerfile.py', 'tests/test_dmlab_real.py',
            'docker/sources/README.md', 'docker/ca-certificates/README.md']
  needed += [f'{RECIPE}/{path}' for path in recipe_files(os.path.join(REPO, RECIPE))]
  assert [path for path in needed if is_ignored(path, patterns)] == []


def test_the_offline_sources_stay_out_of_the_image_and_of_git(dockerfile):
  project = stage_of(dockerfile, 'project')
  assert [step.arguments for step in project if step.keyword == 'COPY'] == ['. /opt/impala']
  assert project[-1].arguments == 'find /opt/impala/docker/sources -mindepth 1 ! -name README.md -delete'
  # The image takes the project from that stage alone, and copies the context whole nowhere else.
  whole = [step for step in dockerfile if step.keyword == 'COPY' and copy_sources(step) == ['.']]
  assert [step.stage for step in whole] == ['project']
  gitignore = read('.gitignore')
  assert '/docker/sources/*' in gitignore and '!/docker/sources/README.md' in gitignore
  assert '/docker/ca-certificates/*.crt' in gitignore


def test_runs_the_whole_suite_after_the_project_and_deepmind_lab_are_in(dockerfile):
  final = stage_of(dockerfile, 'impala')
  arguments = [step.arguments for step in final]
  test = next(i for i, step in enumerate(final) if step.keyword == 'RUN' and 'make test' in step.arguments)
  install = next(i for i, a in enumerate(arguments) if a.startswith('make install'))
  project = arguments.index('--from=project /opt/impala /opt/impala')
  stimuli = next(i for i, a in enumerate(arguments) if a.startswith('--from=stimuli'))
  assert max(install, project, stimuli) < test
  assert final[test].arguments == 'PYTEST_ADDOPTS=-rsp make test'
  # The stages whose failure is cheap to see come first in the image's own steps (buildah and
  # podman build a stage when a step asks for it).
  assert stimuli < install


# --- What fails, fails at once ----------------------------------------------------------------------

def test_a_missing_mirror_is_refused_at_once_naming_the_build_argument(tmp_path):
  result = run_script('build_dmlab.sh', str(tmp_path / 'wheel'),
                      env={'DMLAB_MIRROR': str(tmp_path / 'no_mirror'), 'DMLAB_BUILD_JOBS': '2'})
  assert result.returncode == 1
  assert result.stderr.splitlines() == [
      f'Error: DMLAB_MIRROR={tmp_path}/no_mirror has no google-deepmind+lab/repo: put the bare git '
      'directories in docker/sources/ (docker/sources/README.md), or build without DMLAB_MIRROR to '
      'clone them.']
  assert not (tmp_path / 'wheel').exists()


def test_unreachable_stimuli_are_refused_at_once_naming_the_build_argument(tmp_path):
  with socket.socket() as closed:  # A port nothing listens on: refused at once.
    closed.bind(('127.0.0.1', 0))
    port = closed.getsockname()[1]
  url = f'http://127.0.0.1:{port}/ObjectsAll.zip'
  result = run_script('fetch_stimuli.sh', str(tmp_path), env={'BRADY_KONKLE_OLIVA2008_URL': url})
  assert result.returncode == 1
  assert len(result.stderr.splitlines()) == 1
  assert result.stderr.startswith(f'Error: cannot fetch the psychlab stimuli from '
                                  f'BRADY_KONKLE_OLIVA2008_URL={url} (')
  assert '--build-arg BRADY_KONKLE_OLIVA2008_URL= to build without them' in result.stderr
  assert os.listdir(tmp_path) == []


def test_make_image_uses_the_builder_there_is_or_names_what_to_install(tmp_path):
  tools = tmp_path / 'bin'
  tools.mkdir()
  for tool in ('bash', 'dirname'):
    os.symlink(subprocess.run(['bash', '-c', f'command -v {tool}'], capture_output=True, text=True,
                              check=True).stdout.strip(), tools / tool)
  result = run_script('build_image.sh', 'impala', path=str(tools))
  assert result.returncode == 1
  assert 'apt-get install podman' in result.stderr and 'docker, podman or buildah' in result.stderr
  # With podman alone, podman builds the context with the options given.
  (tools / 'podman').write_text('#!/bin/sh\necho "podman $*"\n')
  (tools / 'podman').chmod(0o755)
  result = run_script('build_image.sh', 'impala', '--build-arg', 'TENSORFLOW_EXTRA=and-cuda',
                      path=str(tools))
  assert result.returncode == 0, result.stderr
  assert result.stdout == 'podman build -t impala --build-arg TENSORFLOW_EXTRA=and-cuda .\n'


# --- The default command ----------------------------------------------------------------------------

def test_default_command_trains_briefly_then_tests_with_defined_flags():
  script = read('docker/demo.sh')
  defaults = dict(re.findall(r'^(\w+)=\$\{\w+:-([^}]*)\}$', script, re.MULTILINE))
  assert defaults == {'level': 'explore_goal_locations_small', 'logdir': '/tmp/agent', 'frames': '20000'}
  expanded = re.sub(r'"\$(\w+)"', lambda match: defaults.get(match.group(1), '$' + match.group(1)),
                    script)
  train, test = experiment_commands(expanded)
  assert flag_problems(train) + flag_problems(test) == []
  train, test = flag_values(train), flag_values(test)
  assert train.get('mode', 'train') == 'train' and test['mode'] == 'test'
  for name in ('level_name', 'logdir', 'dataset_path'):
    assert train[name] == test[name], name
  assert not train['level_name'].startswith(('atari', 'synthetic/'))  # A DeepMind Lab level.
  assert int(train['total_environment_frames']) <= 100_000 and int(test['test_num_episodes']) <= 5
  assert train['dataset_path'] == '$DMLAB_DATASET_PATH'
  assert 'ENV DMLAB_DATASET_PATH=/opt/dmlab_datasets/brady_konkle_oliva2008' in read('Dockerfile')


# --- The long form's reader of the build log ---------------------------------------------------------

def test_the_build_log_reader_times_each_part_and_counts_the_suite():
  log = '''     0 === base: debootstrap bookworm into localhost/debian:bookworm
    30 === base: localhost/debian:bookworm ready
    31 [1/5] STEP 5/5: RUN bash /opt/docker/install_system.sh
    40 [2/5] STEP 4/4: RUN bash /opt/docker/fetch_stimuli.sh /opt/dmlab_datasets/brady_konkle_oliva2008
    41 [3/5] STEP 8/8: RUN bash /opt/docker/build_dmlab.sh /opt/dmlab_wheel
   300 [5/5] STEP 8/12: RUN make install TENSORFLOW_EXTRA="${TENSORFLOW_EXTRA}"
   360 [5/5] STEP 9/12: COPY --from=project /opt/impala /opt/impala
   362 [5/5] STEP 11/12: RUN PYTEST_ADDOPTS=-rsp make test
   900 PASSED tests/test_dmlab_real.py::test_a
   900 PASSED tests/test_vtrace.py::test_b
   900 SKIPPED [1] tests/test_dmlab_real.py:190: no stimuli
   900 ======= 480 passed, 3 skipped in 530.00s (0:08:50) =======
   905 === done: impala'''.splitlines()
  from benchmarks import docker_image  # pylint: disable=import-outside-toplevel
  stages = dict(docker_image.build_stages(log))
  assert list(stages.values()) == [30, 1, 9, 1, 259, 60, 2, 543]
  assert stages['`make test`'] == 543 and stages['DeepMind Lab (apt, sources, Bazel, wheel)'] == 259
  summary, real, skipped = docker_image.suite_counts(log)
  assert summary == '480 passed, 3 skipped in 530.00s (0:08:50)'
  assert real == {'PASSED': 1, 'SKIPPED': 1} and skipped == ['tests/test_dmlab_real.py:190: no stimuli']
