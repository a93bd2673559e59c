"""The code's shape: no import cycles, nothing imports the program, modules a reader can hold.

Imports are read from the source with `ast` (every `import` and `from ... import` of a project module,
at any depth, including those inside functions), so the check needs no module to be imported.
"""
import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIRS = ('runtime', 'pbt', 'baselines', 'video', 'networks', 'environments', 'dmlab30', 'atari57',
               'benchmarks')


def project_modules():
  """{module name: path} of every Python module outside tests/."""
  modules = {}
  for name in os.listdir(REPO):
    if name.endswith('.py'):
      modules[name[:-3]] = os.path.join(REPO, name)
  for directory in SOURCE_DIRS:
    for root, _, files in os.walk(os.path.join(REPO, directory)):
      for name in files:
        if name.endswith('.py'):
          path = os.path.join(root, name)
          parts = os.path.relpath(path, REPO)[:-3].split(os.sep)
          if parts[-1] == '__init__':
            parts = parts[:-1]
          modules['.'.join(parts)] = path
  return modules


def imported_modules(path, modules):
  """The project modules the file at `path` imports."""
  with open(path) as f:
    tree = ast.parse(f.read(), path)
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      # `from runtime import acting` imports the module runtime.acting; `from x import name`, x.
      names = [f'{node.module}.{alias.name}' if f'{node.module}.{alias.name}' in modules
               else node.module for alias in node.names]
    else:
      continue
    for name in names:
      while name and name not in modules:
        name = name.rpartition('.')[0]
      if name:
        found.add(name)
  return found


def import_graph():
  modules = project_modules()
  return {name: imported_modules(path, modules) - {name} for name, path in modules.items()}


def find_cycle(graph):
  """One import cycle as a list of modules, or None."""
  visiting, done = [], set()

  def visit(node):
    if node in visiting:
      return visiting[visiting.index(node):] + [node]
    if node in done:
      return None
    visiting.append(node)
    for neighbour in sorted(graph.get(node, ())):
      cycle = visit(neighbour)
      if cycle:
        return cycle
    visiting.pop()
    done.add(node)
    return None

  for node in sorted(graph):
    cycle = visit(node)
    if cycle:
      return cycle
  return None


def test_the_import_graph_reads_what_it_should():
  graph = import_graph()
  assert {'runtime.acting', 'runtime.prefetch', 'runtime.trajectories'} <= graph['runtime.one_machine']
  assert 'runtime.acting' in graph['baselines.asynchronous']
  assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
  packages = package_graph()
  assert {'runtime', 'environments'} <= packages['baselines']
  assert 'baselines' in packages['experiment'] and 'runtime' not in packages['runtime']


def test_no_import_cycles():
  assert find_cycle(import_graph()) is None


def package_graph():
  """The import graph between packages (each module counted in its top-level package) and top-level
  modules (their own nodes), without self-edges."""
  graph = {}
  for name, imports in import_graph().items():
    package = name.partition('.')[0]
    graph.setdefault(package, set()).update(imported.partition('.')[0] for imported in imports)
  return {package: imports - {package} for package, imports in graph.items()}


def test_no_import_cycles_between_packages():
  # A package that imports another which imports it back cannot be read or reused without it.
  assert find_cycle(package_graph()) is None


def test_the_runtime_imports_no_feature_built_on_it():
  # baselines/, pbt/ and video/ add their settings to the runtime's (configuration.py assembles them).
  features = {name: sorted(i for i in imports if i.partition('.')[0] in ('baselines', 'pbt', 'video'))
              for name, imports in import_graph().items() if name.partition('.')[0] == 'runtime'}
  assert {name: imported for name, imported in features.items() if imported} == {}


def test_nothing_but_tests_imports_the_program():
  importers = [name for name, imports in import_graph().items() if 'experiment' in imports]
  assert importers == []


def test_networks_do_not_import_environments():
  graph = import_graph()
  assert [name for name in graph if name.startswith('networks') and any(
      imported.startswith('environments') for imported in graph[name])] == []


def line_count(path):
  with open(path) as f:
    return sum(1 for _ in f)


def test_the_program_reads_top_to_bottom():
  assert line_count(os.path.join(REPO, 'experiment.py')) <= 400


@pytest.mark.parametrize('module', sorted(m for m in project_modules() if m.startswith('runtime')))
def test_runtime_modules_are_a_size_a_reader_holds(module):
  assert line_count(project_modules()[module]) <= 300


def test_no_module_outside_tests_is_too_long_to_hold():
  long = {name: line_count(path) for name, path in project_modules().items() if line_count(path) > 450}
  assert long == {}
