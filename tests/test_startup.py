"""The first screen: TensorFlow's start-up notices are filtered, everything else is kept."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_start_up_notices_are_filtered_and_other_lines_kept():
  script = ('import os, sys\n'
            'from runtime import startup\n'
            'with startup._stderr_filtered(lambda line: "notice" in line):\n'
            '  os.write(2, b"a notice\\nkept line\\n")\n'
            '  print("python line", file=sys.stderr)\n'
            'print("after", file=sys.stderr)\n')
  done = subprocess.run([sys.executable, '-c', script], cwd=REPO, capture_output=True, text=True,
                        timeout=60, check=True)
  assert done.stderr == 'kept line\npython line\nafter\n'


def test_the_program_starts_without_tensorflows_notices(tmp_path):
  done = subprocess.run([sys.executable, 'experiment.py', '--level_name=atari/pong', '--num_actors=0',
                         f'--logdir={tmp_path}'], cwd=REPO, capture_output=True, text=True,
                        timeout=120, check=False)
  assert '--num_actors must be positive' in done.stderr  # The run stops at the flags, after startup.
  for notice in ('cuInit', 'oneDNN custom operations', 'cuda drivers', 'InitializeLog'):
    if notice == 'cuInit' and os.path.exists('/dev/nvidiactl'):
      continue
    assert notice not in done.stderr
