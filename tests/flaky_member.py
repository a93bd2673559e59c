"""A stand-in member program for tests/test_pbt.py: exits with 1 the first `--fail_times` times it
starts in a logdir (or always, with -1), then 0. It reads only --logdir and --fail_times."""
import os
import sys

args = dict(a[2:].split('=', 1) for a in sys.argv[1:] if a.startswith('--') and '=' in a)
logdir, fail_times = args['logdir'], int(args.get('fail_times', '1'))
os.makedirs(logdir, exist_ok=True)
starts = os.path.join(logdir, 'starts')
count = len(open(starts).read()) if os.path.exists(starts) else 0
with open(starts, 'a') as f:
  f.write('x')
print(f'start {count + 1}', flush=True)
sys.exit(1 if fail_times < 0 or count < fail_times else 0)
