"""Reading shell command lines as experiment.py would take them: shared by the tests of the Dockerfile
(its default command) and of the docs' commands (tests/test_doc_commands.py).

Not a test module: test modules import it and nothing from each other.
"""
import re
import shlex

from absl import flags

import configuration

FLAGS = flags.FLAGS
configuration.define_flags()  # experiment.py's flags, checked here.
SHELL_OPERATOR = re.compile(r'^[();<>|&]+$')


def shell_tokens(line):
  lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
  lexer.whitespace_split = True
  return list(lexer)


def _open_quote(line):
  """Whether `line` ends inside a quoted string (a value that goes on on the next line)."""
  try:
    shell_tokens(line)
  except ValueError:
    return True
  return False


def logical_lines(script):
  """The lines of a shell script with continuations joined and here-document bodies left out.

  A line ending with a backslash goes on on the next; so does one that ends inside quotes (a
  JSON value written over two lines), joined with its newline.
  """
  lines, current, terminator = [], '', None
  for raw in script.splitlines():
    if terminator is not None:
      terminator = None if raw.strip() == terminator else terminator
      continue
    if raw.rstrip().endswith('\\'):
      current += raw.rstrip()[:-1] + ' '
      continue
    line = current + raw
    if _open_quote(line):
      current = line + '\n'
      continue
    current = ''
    lines.append(line)
    heredoc = re.search(r'<<-?\s*(["\']?)([A-Za-z_][A-Za-z0-9_]*)\1', line)
    if heredoc:
      terminator = heredoc.group(2)
  if current:
    lines.append(current)
  return lines


def experiment_commands(script):
  """The argument lists of every `experiment.py` command in a shell script."""
  commands = []
  for line in logical_lines(script):
    if 'experiment.py' not in line:
      continue
    tokens = shell_tokens(line)
    for start, token in enumerate(tokens):
      if token.endswith('experiment.py'):
        end = start + 1
        while end < len(tokens) and not SHELL_OPERATOR.match(tokens[end]):
          end += 1
        commands.append(tokens[start + 1:end])
  return commands


def flag_values(arguments):
  """{name: value} of `--name=value` arguments."""
  return dict(argument[2:].split('=', 1) for argument in arguments
              if argument.startswith('--') and '=' in argument)


def flag_problems(arguments):
  """What is wrong with an experiment.py argument list: unknown flags, values the flags refuse."""
  problems = []
  for argument in arguments:
    if not argument.startswith('--'):
      problems.append(f'{argument!r}: experiment.py takes no positional arguments')
      continue
    name, has_value, value = argument[2:].partition('=')
    if name not in FLAGS:
      negated = name[2:] if name.startswith('no') else None
      if not (negated in FLAGS and FLAGS[negated].boolean and not has_value):
        problems.append(f'--{name}: experiment.py defines no such flag')
      continue
    flag = FLAGS[name]
    if not has_value:
      if not flag.boolean:
        problems.append(f'--{name}: needs a value (--{name}=...)')
      continue
    if '$' in value or '[' in value:
      continue  # A shell variable or a placeholder: its value is the user's.
    try:
      flag.parser.parse(value)
    except ValueError as e:
      problems.append(f'--{name}={value}: {e}')
  return problems
