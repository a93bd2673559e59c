"""runtime/dynamic_batching.py: concurrent callers share calls and each gets its own rows back."""
import threading

import numpy as np
import pytest

from runtime import dynamic_batching


def tagged_double(inputs):
  """Doubles the values and keeps each row's tag, so a caller can check the rows it got are its own."""
  tags, values = inputs
  return tags, values * 2


def call_from_threads(inference, num_threads, rows_per_call, calls):
  results, errors = {}, []

  def caller(i):
    try:
      for call in range(calls):
        tags = np.full(rows_per_call, i * 1000 + call)
        values = np.arange(rows_per_call, dtype=np.float32) + i
        results[(i, call)] = (tags, values, inference((tags, values)))
    except Exception as e:  # pylint: disable=broad-except
      errors.append(e)

  threads = [threading.Thread(target=caller, args=(i,)) for i in range(num_threads)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert not errors, errors
  return results


@pytest.mark.parametrize('kind', ['dynamic', 'unbatched'])
def test_every_caller_gets_its_own_rows(kind):
  if kind == 'dynamic':
    inference = dynamic_batching.DynamicBatcher(tagged_double, max_batch_size=12, timeout_ms=50.)
  else:
    inference = dynamic_batching.Unbatched(tagged_double)
  results = call_from_threads(inference, num_threads=4, rows_per_call=3, calls=20)
  inference.close()
  for tags, values, (out_tags, out_values) in results.values():
    np.testing.assert_array_equal(out_tags, tags)
    np.testing.assert_array_equal(out_values, values * 2)
  assert inference.num_rows == 4 * 3 * 20
  if kind == 'dynamic':
    # Four callers of 3 rows fill a batch of 12: far fewer calls than requests.
    assert inference.mean_batch_size > 6, inference.mean_batch_size
  else:
    assert inference.mean_batch_size == 3


def test_a_lone_caller_waits_out_the_timeout_then_runs_alone():
  batcher = dynamic_batching.DynamicBatcher(tagged_double, max_batch_size=100, timeout_ms=20.)
  tags, values = batcher((np.zeros(2), np.ones(2, np.float32)))
  batcher.close()
  np.testing.assert_array_equal(values, [2., 2.])
  assert (batcher.num_batches, batcher.num_rows) == (1, 2)
  assert batcher.wait_seconds >= 0.015


def test_an_error_reaches_every_caller_of_the_batch_and_closing_refuses_more():
  def fail(inputs):
    raise ValueError('broken network')

  batcher = dynamic_batching.DynamicBatcher(fail, max_batch_size=2, timeout_ms=1000.)
  errors = []

  def caller():
    try:
      batcher((np.zeros(1), np.zeros(1)))
    except ValueError as e:
      errors.append(e)

  threads = [threading.Thread(target=caller) for _ in range(2)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert len(errors) == 2 and all('broken network' in str(e) for e in errors)
  batcher.close()
  for closed in (batcher, dynamic_batching.Unbatched(tagged_double)):
    closed.close()
    with pytest.raises(dynamic_batching.BatcherClosedError):
      closed((np.zeros(1), np.zeros(1)))
