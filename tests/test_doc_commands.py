"""The commands the README and docs/ give, checked as the programs would take them, without training.

Every `experiment.py` command line in a code block of README.md or docs/*.md, and every `sbatch` of
the example Slurm job (whose arguments are experiment.py's), goes through what experiment.py does
before any work: absl parses its flags, TF_CONFIG gives a cluster task its role where the command
sets it, test mode finds its logdir (a population's fittest member), and configuration.resolve
checks every value, the levels the run plays with the dataset they need and --exclude_levels, and the
run recorded in --logdir. A refusal fails the test with experiment.py's own line.

A page's commands run in order against a temporary folder that stands for the paths they name. A
training command records there what a training run leaves for later commands (config.json, a
checkpoint, a finished episode; a population's members too), so a test command is checked against
the run it tests. Shell variables take values that stand for the user's ($DMLAB_DATASET_PATH a
folder, a loop's first and last values), placeholders such as LEARNER_HOST a local address; a
variable the test has no value for fails it. The example Slurm job is checked as its learner and its
last actor task, with the role Slurm would give each as flags; a command that TF_CONFIG makes an actor
task, as its cluster's learner (the same command, TF_CONFIG's learner task) and itself. An actor task
is checked as experiment.py takes it: its own settings, then joined with the settings of the learner
it reaches, the page's last learner before it at its --learner_address's port, as that learner would
publish them (a flag that contradicts them, or a --task beyond its --num_actor_tasks, is refused). A
command shortened with `...` must be the short form of a complete command of the docs.

Also: the commands of runs whose records are in benchmarks/results/ have those runs' settings, and
benchmarks/table2.py's commands say what they do (train, or only redraw) and never train a run its
CSV holds.
"""
import collections
import contextlib
import csv
import dataclasses
import glob
import importlib.util
import io
import itertools
import json
import math
import os
import re

from absl import flags
import pytest
import tensorflow as tf

from benchmarks import table2
import configuration
from pbt import population as pbt_population
from runtime import curves
from runtime import levels as levels_lib
from runtime import presets
from runtime import run_config
from runtime import schedulers
from tests.commands_lib import FLAGS
from tests.commands_lib import SHELL_OPERATOR
from tests.commands_lib import experiment_commands
from tests.commands_lib import flag_problems
from tests.commands_lib import flag_values
from tests.commands_lib import logical_lines
from tests.commands_lib import shell_tokens

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README_SECTION = '## Reproducing the paper'
# Where the README's DMLab-30 run across machines (its learner and actors) moved.
CLUSTER_PAGE = 'docs/cluster.md'
# The original release's DMLab-30 settings (its README; SPEC.md, Hyperparameters).
DMLAB30_SETTINGS = {
    'num_actors': '150', 'batch_size': '32', 'entropy_cost': '0.0033391318945337044',
    'learning_rate': '0.00031866995608948655', 'reward_clipping': 'soft_asymmetric',
    'total_environment_frames': '10000000000',
}
# A Slurm job script under cluster/slurm/: `sbatch [options] SCRIPT [experiment.py's flags]`.
SLURM_SCRIPT = re.compile(r'(^|/)cluster/slurm/[\w.-]+\.sbatch$')
# Placeholders the docs ask the user to replace, and what stands for them here.
PLACEHOLDERS = {'LEARNER_HOST': '127.0.0.1'}
ELISION = '...'
LOOP = re.compile(r'^\s*for (\w+) in (.+?); do\s*$')
ASSIGNMENT = re.compile(r'^[A-Za-z_]\w*=')
# Documented commands of runs whose records are in benchmarks/results/: (page, the command's
# --logdir) -> the episodes the run recorded. The learner records an episode at the frames of its
# step, a multiple of unroll x batch x action repeats: over the run's many steps, the greatest
# common divisor of those frames is the step itself, which the command's settings must give.
RECORDED_RUNS = {
    ('docs/dmlab.md', '/runs/egls'): 'benchmarks/results/dmlab_explore_goal_locations_small_curve.csv',
}
TABLE2 = 'benchmarks/table2.py'

Command = collections.namedtuple('Command', 'page line arguments environment slurm_tasks loops')
Checked = collections.namedtuple('Checked', 'command arguments config error')


def read(name):
  with open(os.path.join(REPO, name), encoding='utf-8') as f:
    return f.read()


def pages():
  return ['README.md'] + sorted(os.path.relpath(path, REPO)
                                for path in glob.glob(os.path.join(REPO, 'docs', '*.md')))


def documentation():
  """The text of the README and of every docs/ page."""
  return [read(page) for page in pages()]


def code_blocks(markdown):
  return re.findall(r'```(?:sh|bash|shell|console)\n(.*?)```', markdown, flags=re.DOTALL)


def readme_section(text, heading):
  start = text.index(heading)
  end = text.find('\n## ', start + len(heading))
  return text[start:] if end == -1 else text[start:end]


def python_modules(script):
  """The modules run with `python -m` in a shell script."""
  modules = []
  for line in logical_lines(script):
    tokens = shell_tokens(line) if ' -m ' in line else []
    for before, token, after in zip(tokens, tokens[1:], tokens[2:]):
      if token == '-m' and re.search(r'python[0-9.]*$', before):
        modules.append(after)
  return modules


# --- The commands, as a shell would run them ---------------------------------------------------------

def loop_values(words):
  """The first and last values a `for` loop's word list gives (all of a literal list)."""
  seq = re.fullmatch(r'\$\(seq (\d+) (\d+)\)', words.strip())
  if seq:
    return [seq.group(1), seq.group(2)]
  program = re.fullmatch(r'\$\(python[0-9.]* -c "(.*)"\)', words.strip())
  if program:  # The docs' own one-liner (the Atari-57 games): its output is the list.
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
      exec(program.group(1), {})  # pylint: disable=exec-used
    values = output.getvalue().split()
    return [values[0], values[-1]]
  assert '$' not in words and '`' not in words, f'for ... in {words}: a list this test cannot expand'
  return shell_tokens(words)


def simple_commands(tokens):
  """A line's tokens split at the shell's operators (;, &&, |, &, ...)."""
  command = []
  for token in tokens + [';']:
    if SHELL_OPERATOR.match(token):
      if command:
        yield command
      command = []
    else:
      command.append(token)


def job_script_tasks(path):
  """The tasks a Slurm job script asks for itself (#SBATCH --ntasks=N), else 2."""
  with open(os.path.join(REPO, path)) as f:
    asked = re.search(r'^#SBATCH --ntasks=(\d+)', f.read(), re.MULTILINE)
  return int(asked.group(1)) if asked else 2


def page_commands(page, text):
  """Every experiment.py command and every sbatch of a Slurm job script in a page's code blocks."""
  commands = []
  for block in code_blocks(text):
    exports, loops = {}, []
    for line in logical_lines(block):
      loop = LOOP.match(line)
      if loop:
        loops.append((loop.group(1), loop_values(loop.group(2))))
        continue
      if line.strip().startswith('done'):
        loops.pop()
        continue
      if not re.search(r'experiment\.py|\.sbatch|^\s*export ', line):
        continue
      for tokens in simple_commands(shell_tokens(line)):
        if tokens[0] == 'export':
          exports.update(token.split('=', 1) for token in tokens[1:] if '=' in token)
          continue
        environment = dict(exports)
        while tokens and ASSIGNMENT.match(tokens[0]):
          name, value = tokens.pop(0).split('=', 1)
          environment[name] = value
        if tokens and tokens[0] == 'sbatch':
          script = next((i for i, token in enumerate(tokens) if SLURM_SCRIPT.search(token)), None)
          assert script is not None, f'{page}: sbatch of no job script of cluster/slurm/: {line}'
          options = flag_values(tokens[1:script])
          tasks = int(options.get('ntasks') or job_script_tasks(tokens[script]))
          commands.append(Command(page, line, tokens[script + 1:], environment, tasks, dict(loops)))
          continue
        start = next((i for i, token in enumerate(tokens) if token.endswith('experiment.py')), None)
        if start is not None:
          commands.append(Command(page, line, tokens[start + 1:], environment, None, dict(loops)))
  return commands


def documented_commands():
  return [command for page in pages() for command in page_commands(page, read(page))]


def substitute(text, variables):
  """`text` with the shell's $NAME / ${NAME} and the docs' placeholders replaced; KeyError names a
  variable with no value here."""
  def value(match):
    name = match.group(1) or match.group(2)
    if name not in variables:
      raise KeyError(f'${name}: no value for this shell variable here (add one to the test)')
    return variables[name]
  text = re.sub(r'\$\{(\w+)\}|\$(\w+)', value, text)
  for placeholder, replacement in PLACEHOLDERS.items():
    text = text.replace(placeholder, replacement)
  return text


def variants(command):
  """{loop variable: value} for each combination of the loops' first and last values."""
  names = list(command.loops)
  for values in itertools.product(*(command.loops[name] for name in names)):
    yield dict(zip(names, values))


def slurm_tasks(command, arguments):
  """The learner and the last actor task of a Slurm job, each with the role Slurm would give it
  (runtime/schedulers.py: task 0 the learner, task i actor task i - 1) given as flags."""
  actor_tasks = command.slurm_tasks - 1
  if actor_tasks < 1:  # As runtime/schedulers.py refuses it.
    raise ValueError(f'--cluster=slurm: the job step has {command.slurm_tasks} task; it needs one '
                     'learner and at least one actor task')
  cluster = ['--cluster=flags', '--learner_address=localhost:8001', f'--num_actor_tasks={actor_tasks}']
  return [arguments + cluster + ['--job_name=learner', '--task=0'],
          arguments + cluster + ['--job_name=actor', f'--task={actor_tasks - 1}',
                                 '--actor_address=localhost:8002']]


def tf_config_tasks(arguments, environment):
  """The tasks of a command that TF_CONFIG makes an actor task, (arguments, environment) each: its
  cluster's learner (every task of a TFJob runs the same command, TF_CONFIG giving each its place)
  and itself; any other command alone."""
  try:
    described = json.loads(environment.get('TF_CONFIG', ''))
    is_actor = schedulers.ROLES.get(described['task']['type']) == 'actor'
    learner = next(job for job in described['cluster'] if schedulers.ROLES.get(job) == 'learner')
  except (ValueError, KeyError, TypeError, StopIteration):  # Refused as experiment.py refuses it.
    return [(arguments, environment)]
  if not is_actor:
    return [(arguments, environment)]
  as_learner = dict(described, task={'type': learner, 'index': 0})
  return [(arguments, dict(environment, TF_CONFIG=json.dumps(as_learner))), (arguments, environment)]


@contextlib.contextmanager
def environment_variables(environment):
  """The process environment with TF_CONFIG (and any other variable) as the command sets it."""
  with pytest.MonkeyPatch.context() as patch:
    patch.delenv('TF_CONFIG', raising=False)
    for name, value in environment.items():
      patch.setenv(name, value)
    yield


def port(address):
  return address.rpartition(':')[2]


def configuration_check(arguments, environment, learners):
  """The Config experiment.py would run with, as its main() makes it before any work; ValueError
  with the line experiment.py would print instead. A learner task publishes its settings in
  `learners` ({port: settings}) for the actor tasks after it (none if refused); an actor task joins
  the learner there at its --learner_address's port."""
  flag_values_ = flags.FlagValues()
  configuration.CONFIGURATION.define_flags(flag_values_)
  try:
    unparsed = flag_values_(['experiment.py'] + arguments)
  except flags.Error as e:
    raise ValueError(f'{e}') from None
  if len(unparsed) > 1:
    raise ValueError(f'Unexpected arguments: {unparsed[1:]}')
  with environment_variables(environment):
    given = configuration.with_cluster_settings(configuration.given_flags(flag_values_))
    if given.get('mode') == 'test':
      given = dict(given, logdir=pbt_population.test_logdir(given))
    if configuration.is_actor_task(given):
      return join_learner(given, learners)
    learner = (given.get('job_name', FLAGS['job_name'].default) == 'learner'
               and given.get('task', -1) != -1)
    if learner:
      learners.pop(port(given.get('learner_address', FLAGS['learner_address'].default)), None)
    config = configuration.resolve(given)
  if learner:
    learners[port(config.learner_address)] = json.loads(run_config.as_json(config))
  return config


def join_learner(given, learners):
  """An actor task's Config as experiment.py makes it: its own settings checked, then joined with
  the settings its learner publishes (runtime.run_config.join); ValueError as it refuses."""
  own = configuration.actor_task(given)
  address = own['learner_address']
  learner = learners.get(port(address))
  if learner is None:
    raise ValueError(f'no learner command before it on the page listens at --learner_address='
                     f'{address}: it would wait for one, then exit with 138')
  return configuration.join(given, learner)


def record_training(config):
  """What a training run leaves in its logdir that later commands read: its config.json, a
  checkpoint and a finished episode; a population, its own config.json and each member's run."""
  run_config.write(config)
  runs = [config]
  if config.pbt_population:
    runs = [dataclasses.replace(config, logdir=pbt_population.member_logdir(config.logdir, i),
                                pbt_member=i) for i in range(config.pbt_population)]
  for run in runs:
    run_config.write(run)
    checkpoint = tf.train.Checkpoint(step=tf.Variable(1))
    tf.train.CheckpointManager(checkpoint, run.logdir, max_to_keep=1).save()
    with open(curves.episodes_csv(run.logdir), 'w', newline='') as f:
      csv.writer(f).writerows([curves.COLUMNS, [run.frames_per_step, 1., levels_lib.actor_levels(run)[0],
                                                0., 100]])


def make_dataset(folder):
  """A folder that stands for the brady_konkle_oliva2008 stimuli: their first image is there."""
  os.makedirs(folder, exist_ok=True)
  open(os.path.join(folder, '0001.png'), 'wb').close()  # pylint: disable=consider-using-with
  return str(folder)


def check_page(commands, root, dataset):
  """Each command of a page, in order: Checked(command, the arguments run, its Config or None, the
  refusal or None). A command shortened with `...` is not run (test_shortened_commands...)."""
  results, learners = [], {}
  for command in commands:
    if ELISION in command.arguments:
      continue
    for loop in variants(command):
      variables = dict(loop, DMLAB_DATASET_PATH=dataset)
      try:
        arguments = [substitute(argument, variables) for argument in command.arguments]
        environment = {name: substitute(value, variables)
                       for name, value in command.environment.items()}
      except KeyError as e:
        results.append(Checked(command, command.arguments, None, e.args[0]))
        continue
      given = flag_values(arguments)
      path = given.get('logdir', FLAGS['logdir'].default).lstrip('/')
      logdir = os.path.join(root, 'paths', path)
      # A training command starts a run, in a logdir of its own (as if new: not helped by a run an
      # earlier command recorded); a test command tests the run recorded at its path.
      local = logdir
      if given.get('mode', 'train') == 'train':
        local = os.path.join(root, f'command_{len(results)}', path)
      arguments = [a for a in arguments if not a.startswith('--logdir=')] + [f'--logdir={local}']
      try:
        tasks = (tf_config_tasks(arguments, environment) if command.slurm_tasks is None else
                 [(task, environment) for task in slurm_tasks(command, arguments)])
      except ValueError as e:
        results.append(Checked(command, arguments, None, str(e)))
        continue
      for task, task_environment in tasks:
        try:
          config = configuration_check(task, task_environment, learners)
        except ValueError as e:
          results.append(Checked(command, task, None, str(e)))
          continue
        results.append(Checked(command, task, config, None))
        if config.mode == 'train' and not (config.task != -1 and config.job_name == 'actor'):
          record_training(dataclasses.replace(config, logdir=logdir))
  return results


@pytest.fixture(name='checked', scope='module')
def fixture_checked(tmp_path_factory):
  """Every documented command checked, page by page, each page in a folder of its own."""
  dataset = make_dataset(tmp_path_factory.mktemp('brady_konkle_oliva2008'))
  results = []
  for page in pages():
    root = tmp_path_factory.mktemp(re.sub(r'\W', '_', page))
    results += check_page(page_commands(page, read(page)), str(root), dataset)
  return results


def describe(checked):
  return (f'{checked.command.page}: {checked.command.line.strip()}\n    ran as: experiment.py '
          f'{" ".join(checked.arguments)}\n    refused: {checked.error}')


# --- Every command passes experiment.py's configuration check -------------------------------------

def test_every_documented_command_passes_the_configuration_check(checked):
  commands = documented_commands()
  assert len(commands) >= 25, 'the README and docs/ have fewer experiment.py commands than they had'
  kinds = {(bool(c.environment.get('TF_CONFIG')), c.slurm_tasks is not None, bool(c.loops))
           for c in commands}
  # Commands with TF_CONFIG, Slurm jobs and loops are among them, and checked (not skipped).
  assert {(True, False, False), (False, True, False), (False, False, True)} <= kinds
  run = {(c.command.page, c.command.line) for c in checked}
  assert [c for c in commands if (c.page, c.line) not in run and ELISION not in c.arguments] == []
  assert len([c for c in checked if c.config and c.config.mode == 'test']) >= 8
  refused = [describe(c) for c in checked if c.error]
  assert not refused, 'README and docs/ commands experiment.py would refuse:\n' + '\n'.join(refused)


def test_shortened_commands_abbreviate_complete_ones():
  commands = documented_commands()
  complete = [set(c.arguments) for c in commands if ELISION not in c.arguments]
  shortened = [c for c in commands if ELISION in c.arguments]
  for command in shortened:
    given = set(command.arguments) - {ELISION}
    assert flag_problems(sorted(given)) == [], command.line
    assert any(given <= arguments for arguments in complete), (
        f'{command.page}: {command.line.strip()}: shortened, but no complete command in the docs '
        'has all of its flags')


def test_commands_of_recorded_runs_have_their_settings(checked):
  for (page, logdir), episodes in RECORDED_RUNS.items():
    runs = [c for c in checked if c.command.page == page and c.config and c.config.mode == 'train'
            and flag_values(c.command.arguments).get('logdir') == logdir]
    assert len(runs) == 1, f'{page}: no one training command with --logdir={logdir}'
    with open(os.path.join(REPO, episodes)) as f:
      frames = {int(row['frames']) for row in csv.DictReader(f)}
    assert len(frames) >= 20, f'{episodes}: too few steps to tell the step'
    config = runs[0].config
    assert config.frames_per_step == math.gcd(*frames), (
        f'{page}: {runs[0].command.line.strip()}\n    trains {config.frames_per_step} frames a step '
        f'(unroll {config.unroll_length} x batch {config.batch_size} x {config.num_action_repeats} '
        f'repeats); the run of {episodes} trained {math.gcd(*frames)}')


def test_configuration_check_refuses_what_experiment_py_refuses(tmp_path):
  dataset = make_dataset(tmp_path / 'dataset')
  actor = 'python experiment.py --job_name=actor --learner_address=LEARNER_HOST:'
  text = ('```sh\n'
          'python experiment.py --level_name=dmlab30 --logdir=/runs/a\n'
          'python experiment.py --level_name=dmlab30 --dataset_path="$DMLAB_DATASET_PATH" --logdir=/runs/b\n'
          'python experiment.py --mode=test --logdir=/runs/b --network=shallow\n'
          'python experiment.py --mode=test --logdir=/runs/c\n'
          f'{actor}8001 --task=0\n'
          'python experiment.py --level_name=atari/pong --job_name=learner --task=0 --num_actors=4 '
          '--learner_address=0.0.0.0:8001 --logdir=/runs/p\n'
          'for i in $(seq 0 4); do\n'
          f'  {actor}8001 --task=$i &\n'
          'done\n'
          f'{actor}8001 --task=3 --batch_size=2\n'
          f'{actor}8002 --task=0\n'
          f'{actor}8001 --task=0 --run_id=another\n'
          'python experiment.py --level_name=atari/pong --logdir=$UNKNOWN\n'
          "TF_CONFIG='{\"cluster\": {\"learner\": [\"127.0.0.1:8001\"], \"actor\": [\"127.0.0.1:8002\"]},\n"
          "  \"task\": {\"type\": \"actor\", \"index\": 1}}' python experiment.py --level_name=atari/pong\n"
          'sbatch --ntasks=4 cluster/slurm/impala.sbatch --level_name=atari/pong --num_actors=3\n'
          'sbatch --ntasks=5 cluster/slurm/impala.sbatch --level_name=atari/pong --num_actors=3\n'
          'sbatch --ntasks=1 cluster/slurm/impala.sbatch --level_name=atari/pong\n'
          'python experiment.py --level_name=atari/pong --no_such_flag=1\n'
          '```\n')
  commands = page_commands('page.md', text)
  assert [c.loops for c in commands].count({'i': ['0', '4']}) == 1
  results = check_page(commands, str(tmp_path / 'root'), dataset)
  errors = [c.error for c in results]
  assert len(errors) == 20
  assert 'need the brady_konkle_oliva2008 dataset' in errors[0] and errors[1] is None
  assert 'contradicts the run' in errors[2]  # Tested as the run trained, not otherwise.
  assert 'no checkpoint' in errors[3]  # No training command before it.
  # An actor task joins the page's last learner before it at its address's port, with its settings.
  assert 'no learner command before it on the page listens at' in errors[4]
  assert errors[5:7] == [None, None]  # The learner, and its actor task 0.
  assert '--task must be in [0, --num_actor_tasks=4)' in errors[7]  # The learner's 4, not its own.
  assert '--batch_size=2 contradicts the learner at 127.0.0.1:8001' in errors[8]
  assert 'listens at --learner_address=127.0.0.1:8002' in errors[9]  # Another port.
  assert "trains run" in errors[10] and "not this task's run 'another'" in errors[10]
  assert '$UNKNOWN' in errors[11]
  assert errors[12] is None  # TF_CONFIG's learner, the same command.
  assert 'TF_CONFIG: task index 1 is out of range' in errors[13]
  assert errors[14:16] == [None, None]  # The job's learner and its last actor task.
  assert 'must be in [1, --num_actors=3], got 4' in errors[16]  # The learner: its actors find none.
  assert 'no learner command before it on the page' in errors[17]
  assert 'needs one learner and at least one actor task' in errors[18]
  assert "Unknown command line flag 'no_such_flag'" in errors[19]


# --- benchmarks/table2.py ----------------------------------------------------------------------------

def table2_rows():
  with open(os.path.join(REPO, 'benchmarks', 'results', 'table2.csv')) as f:
    return list(csv.DictReader(f))


def table2_commands():
  """(page, arguments, the line's comment) of every benchmarks/table2.py command in the docs."""
  found = []
  for page in pages():
    for block in code_blocks(read(page)):
      for line in logical_lines(block):
        if TABLE2 in line:
          tokens = shell_tokens(line)
          comment = line.partition('#')[2]
          found.append((page, tokens[tokens.index(next(t for t in tokens if t.endswith(TABLE2))) + 1:],
                        comment))
  return found


def test_table2_trains_only_runs_not_in_its_csv():
  rows = table2_rows()
  grid = table2.parse_cells([])
  assert len(grid) == 8 and len(rows) == 8  # Seed 1 of every cell is in the CSV.
  assert table2.runs_to_train(rows, grid, 1) == []
  assert table2.runs_to_train(rows, table2.parse_cells(['none:0.5']), 2) == [('none', 0.5, 2)]
  assert table2.runs_to_train(rows, grid, 2) == [(c, r, 2) for c, r in grid]
  partial = [row for row in rows if row['correction'] != 'epsilon']
  assert table2.runs_to_train(partial, table2.parse_cells(['epsilon:0', 'vtrace:0']), 1) == [
      ('epsilon', 0., 1)]
  with pytest.raises(ValueError, match='vtrace:1'):
    table2.parse_cells(['vtrace:1'])


def test_table2_commands_say_whether_they_train():
  rows = table2_rows()
  commands = table2_commands()
  assert len(commands) >= 3
  for page, arguments, comment in commands:
    given = flag_values(arguments)
    cells = table2.parse_cells(given['cells'].split(',') if given.get('cells') else [])
    runs = [] if '--plot_only' in arguments else table2.runs_to_train(
        rows, cells, int(given.get('seeds', 1)))
    done = {(row['correction'], float(row['replay']), int(row['seed'])) for row in rows}
    assert not set(runs) & done, f'{page}: table2.py {" ".join(arguments)} would retrain {runs}'
    where = f'{page}: benchmarks/table2.py {" ".join(arguments)}  #{comment}'
    if runs:
      assert 'redraw' not in comment, f'{where}\n    trains {runs}: the comment says it only redraws'
    else:
      assert 'redraw' in comment, (f'{where}\n    trains nothing (every run asked for is in '
                                   'table2.csv): the comment must say it only redraws')


# --- The README's commands ---------------------------------------------------------------------------

def test_readme_experiment_commands_use_defined_flags_and_accepted_values():
  readme = read('README.md')
  commands = [command for text in documentation() for block in code_blocks(text)
              for command in experiment_commands(block)]
  reproducing = [command for block in code_blocks(readme_section(readme, README_SECTION))
                 for command in experiment_commands(block)]
  assert len(reproducing) >= 8, f'the README\'s "{README_SECTION}" has too few experiment.py commands'
  problems = [f'experiment.py {" ".join(command)}\n    {problem}'
              for command in commands for problem in flag_problems(command)]
  assert not problems, 'README and docs/ commands experiment.py would refuse:\n' + '\n'.join(problems)


def test_readme_runs_only_modules_that_exist():
  modules = [module for block in code_blocks(read('README.md')) for module in python_modules(block)]
  assert 'dmlab30.report' in modules and 'atari57.report' in modules
  modules += [module for text in documentation() for block in code_blocks(text)
              for module in python_modules(block)]
  assert [module for module in modules if importlib.util.find_spec(module) is None] == []


def test_readme_uses_the_papers_settings():
  section = readme_section(read('README.md'), README_SECTION)
  commands = [flag_values(command) for block in code_blocks(section + '\n' + read(CLUSTER_PAGE))
              for command in experiment_commands(block)]
  dmlab30_training = [c for c in commands if c.get('level_name') == 'dmlab30'
                      and c.get('mode', 'train') == 'train' and c.get('job_name') != 'actor']
  # On one machine (the README), and the learner across machines (the cluster page).
  assert [c.get('job_name') for c in dmlab30_training].count(None) >= 1
  assert [c.get('job_name') for c in dmlab30_training].count('learner') >= 1
  for command in dmlab30_training:
    assert {name: command.get(name) for name in DMLAB30_SETTINGS} == DMLAB30_SETTINGS
    assert command.get('network', FLAGS['network'].default) == 'deep'
  tests = [c for c in commands if c.get('mode') == 'test']
  assert {c['test_num_episodes'] for c in tests if c['level_name'] == 'dmlab30'} == {'500'}
  assert {c['test_num_episodes'] for c in tests if presets.is_atari(c['level_name'])} == {'200'}
  multitask = [c for c in commands if c.get('level_name') == 'atari57']
  assert multitask and all(c.get('network') == 'deep' for c in multitask)


def test_flag_checker_catches_what_experiment_py_would_refuse():
  assert flag_problems(['--level_name=atari/pong', '--nouse_lstm', '--use_lstm=false', '--task=$i']) == []
  bad = ['--no_such_flag=1', '--mode=bogus', '--nomode', '--total_environment_frames=1e10',
         '--num_actors', 'positional']
  assert len(flag_problems(bad)) == len(bad)
  script = 'for i in 1 2; do\n  python experiment.py --job_name=actor \\\n      --task=$i &\ndone\n'
  assert experiment_commands(script) == [['--job_name=actor', '--task=$i']]
  assert logical_lines("python - <<'PY'\nexperiment.py\nPY\necho") == ["python - <<'PY'", 'echo']
  assert logical_lines("export A='{\"a\": 1,\n  \"b\": 2}'\necho") == ["export A='{\"a\": 1,\n  \"b\": 2}'",
                                                                     'echo']
