"""How a setting is declared: a dataclass field that carries its flag's help, choices and check, and
whether it shapes the run (runtime/config.py's docstring says what follows from each); and the checks
settings share. The runtime's settings dataclasses (runtime/config.py, runtime/popart.py) and those of
the features built on it declare their fields with these."""
import dataclasses

# Checks a setting's value must pass: (what the message says, the test).
POSITIVE = ('must be positive', lambda v: v > 0)
NON_NEGATIVE = ('must be >= 0', lambda v: v >= 0)
UNIT_INTERVAL = ('must be in [0, 1]', lambda v: 0 <= v <= 1)
PROPORTION = ('must be in [0, 1)', lambda v: 0 <= v < 1)
STEP_SIZE = ('must be in (0, 1]', lambda v: 0 < v <= 1)


def setting(default, help_text, *, choices=None, check=None, run=False):
  """A Config field and its flag. run: it shapes the network or environment (runtime/config.py)."""
  return dataclasses.field(default=default, metadata=dict(
      help=help_text, choices=choices, check=check, run=run, flag=True))


def decided(default, help_text):
  """A Config field no flag sets: a feature's resolver decides it (runtime/config.py)."""
  return dataclasses.field(default=default, metadata=dict(
      help=help_text, choices=None, check=None, run=False, flag=False))
