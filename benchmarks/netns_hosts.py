"""Hosts on one machine: Linux network namespaces joined by a switch, for running a cluster across them.

    with netns_hosts.Hosts(['learner', 'actors1', 'actors2']) as hosts:
      process = hosts.popen('learner', [sys.executable, 'experiment.py', ...])
      task = netns_hosts.Task(hosts, 'actors1', 'actor.log', [sys.executable, ...])  # Output to a file.
      hosts.set_link('actors1', up=False)        # The host's cable pulled at the switch...
      hosts.kill_all('actors1')                  # ...or every process on it killed.

Each host is a namespace of its own with a veth pair to a bridge in a further namespace (the switch):
host i has the address 10.231.7.<i + 1>/24 and a route to that subnet only, so nothing it sends leaves
the namespaces made here; they are deleted on exit (and ones left by a killed run, the next time).
Needs root (CAP_NET_ADMIN) and iproute2; `unavailable()` says why not where they are missing.
"""
import os
import shutil
import signal
import subprocess
import uuid

SUBNET = '10.231.7'
_PREFIX = 'impala-'  # Namespaces made here are named impala-<pid>-<tag>-<host>.


def unavailable():
  """Why network namespaces cannot be made here, or None if they can."""
  if shutil.which('ip') is None:
    return 'iproute2 (ip) is not installed'
  if os.geteuid() != 0:
    return 'making network namespaces needs root'
  name = f'{_PREFIX}{os.getpid()}-probe'
  made = subprocess.run(['ip', 'netns', 'add', name], capture_output=True, text=True, check=False)
  if made.returncode != 0:
    return f'ip netns add failed: {made.stderr.strip()}'
  subprocess.run(['ip', 'netns', 'del', name], check=False)
  return None


def _ip(*args):
  subprocess.run(['ip'] + list(args), check=True, capture_output=True, text=True)


def remove_stale():
  """Deletes the namespaces of runs whose process is gone (a run killed before its cleanup)."""
  listed = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True, check=False).stdout
  for line in listed.splitlines():
    name = line.split()[0] if line.split() else ''
    if name.startswith(_PREFIX):
      pid = name[len(_PREFIX):].split('-')[0]
      if pid.isdigit() and not os.path.exists(f'/proc/{pid}'):
        _kill_namespace_processes(name)
        subprocess.run(['ip', 'netns', 'del', name], check=False)


def _namespace_pids(namespace):
  listed = subprocess.run(['ip', 'netns', 'pids', namespace], capture_output=True, text=True,
                          check=False).stdout
  return [int(pid) for pid in listed.split()]


def _kill_namespace_processes(namespace):
  for pid in _namespace_pids(namespace):
    try:
      os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
      pass


class Hosts:
  """Named hosts (network namespaces) on one switch; a context manager that removes them."""

  def __init__(self, names):
    self.names = list(names)
    tag = uuid.uuid4().hex[:4]
    self._namespace = {name: f'{_PREFIX}{os.getpid()}-{tag}-{i}' for i, name in enumerate(self.names)}
    self._switch = f'{_PREFIX}{os.getpid()}-{tag}-sw'
    self.address = {name: f'{SUBNET}.{i + 1}' for i, name in enumerate(self.names)}

  def __enter__(self):
    remove_stale()
    try:
      _ip('netns', 'add', self._switch)
      _ip('-n', self._switch, 'link', 'add', 'br0', 'type', 'bridge')
      _ip('-n', self._switch, 'link', 'set', 'br0', 'up')
      for i, name in enumerate(self.names):
        namespace = self._namespace[name]
        _ip('netns', 'add', namespace)
        _ip('link', 'add', 'eth0', 'netns', namespace, 'type', 'veth', 'peer', 'name', f'port{i}',
            'netns', self._switch)
        _ip('-n', namespace, 'addr', 'add', f'{self.address[name]}/24', 'dev', 'eth0')
        _ip('-n', namespace, 'link', 'set', 'eth0', 'up')
        _ip('-n', namespace, 'link', 'set', 'lo', 'up')
        _ip('-n', self._switch, 'link', 'set', f'port{i}', 'master', 'br0', 'up')
    except BaseException:
      self.__exit__()
      raise
    return self

  def __exit__(self, *unused_exc_info):
    for namespace in list(self._namespace.values()) + [self._switch]:
      _kill_namespace_processes(namespace)
      subprocess.run(['ip', 'netns', 'del', namespace], capture_output=True, check=False)

  def command(self, name, argv):
    """`argv` run on host `name`."""
    return ['ip', 'netns', 'exec', self._namespace[name]] + list(argv)

  def popen(self, name, argv, **kwargs):
    return subprocess.Popen(self.command(name, argv), **kwargs)  # pylint: disable=consider-using-with

  def set_link(self, name, up):
    """Connects or disconnects host `name` at the switch: its own interface stays up, so what it
    sends meanwhile is lost on the way, as when a cable is pulled or a switch port fails."""
    _ip('-n', self._switch, 'link', 'set', f'port{self.names.index(name)}', 'up' if up else 'down')

  def kill_all(self, name):
    """SIGKILLs every process on host `name`, as when the machine loses power."""
    pids = _namespace_pids(self._namespace[name])
    _kill_namespace_processes(self._namespace[name])
    return len(pids)


class Task:
  """A program run on host `host` of `hosts`, its output in the file `log_path`, read while it runs."""

  def __init__(self, hosts, host, log_path, argv, **popen_kwargs):
    self.host = host
    self.log_path = log_path
    with open(log_path, 'a') as log:
      self.process = hosts.popen(host, argv, stdout=log, stderr=subprocess.STDOUT, **popen_kwargs)

  def text(self):
    with open(self.log_path, errors='replace') as f:
      return f.read()
