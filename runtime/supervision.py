"""Programs this program starts (PBT members, --local_cluster's tasks) end with it, however it ends.

A parent that exits normally or on Ctrl-C stops its children itself; one killed outright (SIGKILL,
the machine's out-of-memory killer) cannot, and its children would train on, orphaned. So the parent
starts each child with `child_environment()`, and the child calls `end_with_parent()` first thing:
Linux then sends the child SIGINT when its parent dies (prctl's PR_SET_PDEATHSIG), and the child
stops as after Ctrl-C, writing its last checkpoint. Environment processes need none of this: they
end when their pipe closes (environments.process).

Linux sends the signal when the *thread* that started the child exits: start children from a thread
that lives as long as the parent (the PBT controller and --local_cluster start them from the main
thread).
"""
import ctypes
import os
import signal
import sys

PARENT_VARIABLE = 'IMPALA_PARENT_PID'  # Set by the parent for the child; read once, not passed on.
_PR_SET_PDEATHSIG = 1  # From <linux/prctl.h>.


def child_environment(environ=None):
  """The environment for a child that is to end with this process."""
  return dict(os.environ if environ is None else environ, **{PARENT_VARIABLE: str(os.getpid())})


def end_with_parent(sig=signal.SIGINT):
  """In a child started with child_environment(): asks Linux for `sig` when the parent dies (and
  stops ignoring it, if it was), and exits at once if it has already died. Elsewhere (started by
  hand, or not on Linux) does nothing. Returns whether the child is now tied to its parent."""
  parent = os.environ.pop(PARENT_VARIABLE, None)  # Not inherited by this child's own children.
  if parent is None or not sys.platform.startswith('linux'):
    return False
  if sig != signal.SIGKILL and signal.getsignal(sig) is signal.SIG_IGN:
    # A shell starts a program run with `&` ignoring SIGINT, and its children inherit that: the
    # signal asked for here would be lost, and the child orphaned. Python's default takes it back.
    signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
  libc = ctypes.CDLL(None, use_errno=True)
  if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
    raise OSError(ctypes.get_errno(), 'prctl(PR_SET_PDEATHSIG) failed')
  if os.getppid() != int(parent):  # The parent died before the request: no signal will come.
    sys.exit(f'The process that started this one ({parent}) has gone: not starting.')
  return True
