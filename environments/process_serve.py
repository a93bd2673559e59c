"""The child's side of environments.process: builds the environment in the child process and
answers the parent's calls over the pipe until closed or orphaned."""
import pickle
import signal
import traceback


def send_error(connection, error):
  """Sends the environment's exception, or its type and message where it does not pickle."""
  remote_traceback = ''.join(traceback.format_exception(error))
  try:
    pickle.loads(pickle.dumps(error))
  except Exception:  # pylint: disable=broad-except
    # Not every exception survives pickling; its type and message still can.
    error = RuntimeError(f'{type(error).__name__}: {error}')
  connection.send(('error', error, remote_traceback))


def serve(connection, shared):
  """The child's side: builds the environment, then answers calls until closed or orphaned."""
  # Ctrl-C (and a SIGTERM sent to the process group) reach the children too; the parent decides when
  # environments end, and a child also ends when its pipe closes.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  signal.signal(signal.SIGTERM, signal.SIG_IGN)
  try:
    factory, factory_kwargs = pickle.loads(connection.recv_bytes())
    environment = factory(**factory_kwargs)
  except Exception as error:  # pylint: disable=broad-except
    send_error(connection, error)
    return
  try:
    connection.send(('ready', getattr(environment, 'spec', None)))
    while True:
      method, args = connection.recv()
      if method == 'close':
        return
      try:
        result = getattr(environment, method)(*args)
      except Exception as error:  # pylint: disable=broad-except
        send_error(connection, error)
        continue
      connection.send(('ok', shared.share(result)))
  except (EOFError, OSError):
    pass  # The parent has gone.
  finally:
    environment.close()
