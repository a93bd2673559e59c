"""The Dockerfile, checked without a Docker engine.

The image can only be built where Docker runs. Meanwhile these checks keep it honest: its base image
is pinned, DeepMind Lab comes from the recipe copied into docker/dmlab_recipe/ (a pinned commit,
Debian's Bazel) and its wheel is installed by `make install`, the project is installed with the same
pins as `make` (requirements.txt), what it copies exists and is not excluded by .dockerignore, it runs
the test suite, and its default command uses only flags experiment.py defines, with values they
accept. The README's and docs/' commands are checked in tests/test_doc_commands.py.
"""
import collections
import filecmp
import fnmatch
import glob
import json
import os
import re
import shlex

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

Instruction = collections.namedtuple('Instruction', 'keyword arguments heredocs line')


def read(name):
  with open(os.path.join(REPO, name)) as f:
    return f.read()


# --- Reading a Dockerfile --------------------------------------------------------------------------

def parse_dockerfile(text):
  """Instructions with continuation lines joined, comments dropped and here-documents collected."""
  lines = text.splitlines()
  instructions = []
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
    heredocs = []
    if keyword.upper() in ('RUN', 'COPY', 'ADD'):
      for match in re.finditer(r'<<-?(["\']?)([A-Za-z_][A-Za-z0-9_]*)\1', arguments):
        body = []
        while i < len(lines) and lines[i].strip() != match.group(2):
          body.append(lines[i])
          i += 1
        assert i < len(lines), f'Dockerfile line {number}: here-document {match.group(2)} never ends'
        i += 1
        heredocs.append('\n'.join(body))
    instructions.append(Instruction(keyword.upper(), arguments.strip(), heredocs, number))
  return instructions


def run_scripts(instructions):
  """(index, shell text) of each RUN: its here-documents, or its command line."""
  return [(index, '\n'.join(step.heredocs) or step.arguments)
          for index, step in enumerate(instructions) if step.keyword == 'RUN']


def copy_sources(step):
  """The sources of a COPY or ADD (its last argument is the destination)."""
  return [token for token in step.arguments.split() if not token.startswith('--')][:-1]


def recipe_build(instructions):
  """(index, script) of the one RUN of the recipe's build.sh, and that script's path in the image."""
  copies = [step for step in instructions if step.keyword == 'COPY' and copy_sources(step) == [RECIPE]]
  assert copies, f'the Dockerfile does not COPY {RECIPE}'
  build_sh = copies[0].arguments.split()[-1].rstrip('/') + '/build.sh'
  runs = [(index, script) for index, script in run_scripts(instructions) if build_sh in script]
  assert len(runs) == 1, f'expected one RUN of {build_sh}, found {len(runs)}'
  return runs[0][0], runs[0][1], build_sh


def command_environment(script, command):
  """{NAME: value} of the assignments that prefix `command` in a shell script."""
  for line in logical_lines(script):
    tokens = shell_tokens(line)
    if command in tokens:
      return dict(token.split('=', 1) for token in tokens[:tokens.index(command)] if '=' in token)
  raise AssertionError(f'{command} is not run')


def recipe_files(root):
  """Paths of the files under root, relative to it, without build.sh's output folders."""
  paths = []
  for folder, folders, files in os.walk(root):
    if folder == root:
      folders[:] = [name for name in folders if name not in RECIPE_OUTPUTS]
    paths += [os.path.relpath(os.path.join(folder, name), root) for name in files]
  return sorted(paths)


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


def pip_install_arguments(script):
  """The arguments of every `pip install` in a shell script."""
  for line in script.splitlines():
    for match in re.finditer(r'\bpip3? install\b(.*?)(?=&&|;|\|\||$)', line):
      yield shlex.split(match.group(1))


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


@pytest.fixture(name='dockerfile', scope='module')
def fixture_dockerfile():
  return parse_dockerfile(read('Dockerfile'))


# --- The Dockerfile --------------------------------------------------------------------------------

def test_base_image_is_debian_12_with_the_projects_python(dockerfile):
  froms = [step for step in dockerfile if step.keyword == 'FROM']
  assert froms, 'the Dockerfile has no FROM'
  python = re.search(r'python(3\.[0-9]+)', read('Makefile')).group(1)  # What `make install` uses.
  for step in froms:
    image = next(token for token in step.arguments.split() if not token.startswith('--'))
    name, _, tag = image.rpartition(':')
    assert name.endswith('python'), f'FROM {image}: not an official Python image'
    # Debian 12 (bookworm) gives the recipe its Bazel (bazel-bootstrap 4.2.3) and -dev packages.
    assert re.fullmatch(re.escape(python) + r'\.[0-9]+-(slim-)?bookworm', tag), \
        f'FROM {image}: want a pinned Python {python}.x on Debian 12 (bookworm)'
    assert '--platform=linux/amd64' in step.arguments  # DeepMind Lab builds for x86-64 only.


def test_installs_the_project_with_the_pins_of_make(dockerfile):
  scripts = run_scripts(dockerfile)
  install = [index for index, script in scripts if re.search(r'\bmake install\b', script)]
  assert install, 'the Dockerfile does not run `make install`'
  copied = {source for step in dockerfile[:install[0]] if step.keyword == 'COPY'
            for source in copy_sources(step)}
  assert {'requirements.txt', 'Makefile'} <= copied, 'requirements.txt and Makefile must be copied first'

  pins = requirement_pins()
  for _, script in scripts:
    for arguments in pip_install_arguments(script):
      expects_value = False
      for argument in arguments:
        if expects_value:
          expects_value = False
          assert argument == 'requirements.txt' or '/' in argument or '$' in argument, argument
        elif argument in ('-r', '--requirement', '-c', '--constraint', '-t', '--target'):
          expects_value = True
        elif argument.startswith('-') or '/' in argument or '$' in argument:
          continue  # An option, or a path.
        else:
          name, separator, version = argument.partition('==')
          assert separator, f'pip install {argument}: not pinned with =='
          assert normalize(name) in pins, f'{argument}: not in requirements.txt'
          pin = pins[normalize(name)]
          assert version == pin, f'{argument}: requirements.txt pins {pin}'


def test_recipe_pins_deepmind_lab_and_takes_bazel_from_debian(dockerfile):
  build_sh = read(f'{RECIPE}/build.sh')
  assert re.search(rf'^LAB_REV={DMLAB_COMMIT}\b', build_sh, re.MULTILINE)
  # Every source revision is a commit or a release tag, never a branch that moves.
  revisions = dict(re.findall(r'^([A-Z_]+_REV)=(\S+)', build_sh, re.MULTILINE))
  assert len(revisions) >= 6, revisions
  for name, revision in revisions.items():
    assert re.fullmatch(r'[0-9a-f]{40}|v?[0-9]+(\.[0-9]+)+', revision), f'{name}={revision}'
  apt = [shell_tokens(line) for line in logical_lines(build_sh) if 'apt-get install -y' in line]
  assert len(apt) == 1 and 'bazel-bootstrap' in apt[0], 'the recipe no longer installs Debian\'s Bazel'
  dockerfile_text = read('Dockerfile')
  assert 'bazelbuild/bazel/releases' not in dockerfile_text and 'bazelisk' not in dockerfile_text
  # Without MIRROR the recipe clones the full sources (the shared wheel's snapshot lacks big assets).
  _, script, path = recipe_build(dockerfile)
  assert 'MIRROR' not in command_environment(script, path)
  assert not [step for step in dockerfile
              if step.keyword in ('ARG', 'ENV') and step.arguments.startswith('MIRROR')]


def test_recipe_is_a_verbatim_copy_of_the_shared_one():
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


def test_builds_deepmind_lab_with_the_recipe_and_installs_the_wheel_with_make(dockerfile):
  index, script, build_sh = recipe_build(dockerfile)
  installs = [i for i, s in run_scripts(dockerfile) if re.search(r'\bmake install\b', s)]
  assert installs[0] < index, '.venv (the Python the recipe builds for) must exist first'
  environment = command_environment(script, build_sh)
  assert environment['PYTHON'].endswith('/.venv/bin/python')  # NumPy of requirements.txt.
  lines = logical_lines(script)
  build = next(n for n, line in enumerate(lines) if build_sh in line)
  wheel_installs = [(n, shell_tokens(line)) for n, line in enumerate(lines)
                    if re.search(r'\bmake install\b', line)]
  assert len(wheel_installs) == 1, 'the wheel goes into .venv through `make install DMLAB_WHEEL=...`'
  install, tokens = wheel_installs[0]
  wheel = dict(token.split('=', 1) for token in tokens if '=' in token).get('DMLAB_WHEEL', '')
  assert build < install and os.path.dirname(wheel) == environment['WHEEL_DIR']
  assert re.fullmatch(r'deepmind_lab-[0-9.]+-py3-none-any\.whl', os.path.basename(wheel))
  assert not re.search(r'\bpip3? install\b', script)  # `make install` alone installs it.
  # The work tree (sources, Bazel's output root) goes in this same layer, before the import check.
  removal = next(n for n, line in enumerate(lines) if line.startswith('rm -rf '))
  assert install < removal and environment['WORK'] in shell_tokens(lines[removal])
  assert any('import deepmind_lab' in line for line in lines[removal + 1:])


def test_copies_only_what_exists_and_is_not_ignored(dockerfile):
  patterns = dockerignore_patterns()
  copies = [step for step in dockerfile if step.keyword in ('COPY', 'ADD')]
  assert len(copies) >= 3
  for step in copies:
    if '--from=' in step.arguments or step.heredocs:
      continue
    for source in copy_sources(step):
      assert os.path.exists(os.path.join(REPO, source)), f'line {step.line}: {source} does not exist'
      if source != '.':
        assert not is_ignored(source, patterns), f'line {step.line}: .dockerignore excludes {source}'


def test_dockerignore_keeps_the_host_venv_out_and_the_tests_in():
  patterns = dockerignore_patterns()
  assert is_ignored('.venv', patterns) and is_ignored('.venv/bin/python', patterns)
  needed = ['Dockerfile', '.dockerignore', 'README.md', 'Makefile', 'requirements.txt', 'pytest.ini',
            'experiment.py', 'runtime/config.py', 'tests/test_dockerfile.py', 'tests/test_dmlab_real.py']
  needed += [f'{RECIPE}/{path}' for path in recipe_files(os.path.join(REPO, RECIPE))]
  assert [path for path in needed if is_ignored(path, patterns)] == []


def test_copies_the_project_after_the_slow_layers(dockerfile):
  # Editing the project must not rebuild DeepMind Lab or refetch the stimuli.
  build, _, _ = recipe_build(dockerfile)
  stimuli = [index for index, script in run_scripts(dockerfile) if 'BRADY_KONKLE_OLIVA2008_URL' in script]
  copy_all = [index for index, step in enumerate(dockerfile)
              if step.keyword == 'COPY' and copy_sources(step) == ['.']]
  assert stimuli and copy_all and max(build, stimuli[0]) < copy_all[0]
  early = {source for step in dockerfile[:copy_all[0]] if step.keyword in ('COPY', 'ADD')
           for source in copy_sources(step)}
  assert early == {'requirements.txt', 'Makefile', RECIPE}


def test_run_scripts_stop_at_the_first_error(dockerfile):
  scripts = [step.heredocs[0] for step in dockerfile if step.keyword == 'RUN' and step.heredocs]
  assert len(scripts) >= 2
  for script in scripts:
    lines = [line for line in script.splitlines() if line.strip()]
    assert re.fullmatch(r'#!\s*(/usr/bin/env bash|/bin/bash)', lines[0]), lines[0]
    assert lines[1] in ('set -euo pipefail', 'set -euxo pipefail'), lines[1]


def test_runs_the_whole_test_suite_with_deepmind_lab_installed(dockerfile):
  scripts = run_scripts(dockerfile)
  tests = [index for index, script in scripts if re.search(r'\bmake test\b', script)]
  assert tests, 'the Dockerfile does not run `make test`'
  build, _, _ = recipe_build(dockerfile)
  copy_all = [index for index, step in enumerate(dockerfile)
              if step.keyword == 'COPY' and copy_sources(step) == ['.']]
  assert copy_all and max(build, copy_all[0]) < tests[-1]


def test_default_command_trains_briefly_then_tests_with_defined_flags(dockerfile):
  cmd = [step for step in dockerfile if step.keyword == 'CMD'][-1]
  command = json.loads(cmd.arguments)  # The exec form.
  assert command[:2] == ['sh', '-c'] and len(command) == 3
  train, test = experiment_commands(command[2])
  assert flag_problems(train) + flag_problems(test) == []
  train, test = flag_values(train), flag_values(test)
  assert train.get('mode', 'train') == 'train' and test['mode'] == 'test'
  for name in ('level_name', 'logdir', 'dataset_path'):
    assert train[name] == test[name], name
  assert not train['level_name'].startswith(('atari', 'synthetic/'))  # A DeepMind Lab level.
  assert int(train['total_environment_frames']) <= 100_000 and int(test['test_num_episodes']) <= 5
  variable = re.fullmatch(r'\$\{?(\w+)\}?', train['dataset_path']).group(1)
  assert any(step.keyword == 'ENV' and step.arguments.startswith(variable + '=') for step in dockerfile)
