"""The learning curve a run redraws as it trains, and the time left in its progress line."""
import csv
import types

import numpy as np
import pytest
import tensorflow as tf

import atari57
import configuration
import dmlab30
from runtime import curves
from runtime import progress


def write_episodes(path, rows):
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['frames', 'seconds', 'level', 'episode_return', 'episode_frames'])
    writer.writerows(rows)


def test_curves_are_each_levels_running_mean_of_the_last_100_episodes(tmp_path):
  rng = np.random.default_rng(0)
  rows = [(i * 10, i, ['a', 'b'][i % 2], float(rng.normal()), 4) for i in range(500)]
  write_episodes(tmp_path / 'episodes.csv', rows)
  read = curves.read_curves(tmp_path / 'episodes.csv')
  for level in ('a', 'b'):
    returns = [r[3] for r in rows if r[2] == level]
    expected = [np.mean(returns[max(0, i - 99):i + 1]) for i in range(len(returns))]
    np.testing.assert_allclose(read[level][1], expected, rtol=1e-9)
    assert list(read[level][0]) == [r[0] for r in rows if r[2] == level]


def test_episodes_are_read_from_complete_lines_only(tmp_path):
  path = tmp_path / 'episodes.csv'
  assert len(curves.read_episodes(path)['frames']) == 0  # No episode finished yet.
  assert curves.frames_so_far(path) == 0
  write_episodes(path, [(100, 1.5, 'a', -21., 4), (250, 3., 'b', 2., 5)])
  with open(path, 'a') as f:
    f.write('300,4.')  # The run is writing the next line.
  episodes = curves.read_episodes(path)
  assert list(episodes['frames']) == [100, 250]
  assert list(episodes['seconds']) == [1.5, 3.]
  assert list(episodes['level']) == ['a', 'b']
  assert list(episodes['episode_return']) == [-21., 2.]
  assert list(episodes['episode_frames']) == [4, 5]
  assert curves.frames_so_far(path) == 250


def test_running_mean_matches_a_plain_loop_for_any_window():
  rng = np.random.default_rng(2)
  for _ in range(20):
    returns = rng.normal(size=int(rng.integers(1, 300)))
    window = int(rng.integers(1, 120))
    expected = [np.mean(returns[max(0, i + 1 - window):i + 1]) for i in range(len(returns))]
    np.testing.assert_allclose(curves.running_mean(returns, window), expected, rtol=1e-9, atol=1e-12)


def test_first_reached_is_the_first_full_window_at_or_above_the_target():
  rng = np.random.default_rng(1)
  for _ in range(20):
    means = np.round(rng.uniform(-21, 21, size=int(rng.integers(1, 300))))  # Ties with the target.
    target, window = float(rng.integers(-5, 6)), int(rng.integers(1, 120))
    expected = next((i for i, m in enumerate(means) if i + 1 >= window and m >= target), None)
    assert curves.first_reached(means, target, window) == expected
  assert curves.first_reached([18.] * 99 + [17.9, 18.], 18.) == 100  # Not before 100 episodes.


@pytest.mark.parametrize('level_name,level,network,expected', [
    ('atari/pong', 'atari/pong', 'shallow', (20.4, 'IMPALA shallow expert (Table C.1)')),
    ('atari/pong', 'atari/pong', 'deep', (atari57.PAPER_TABLE_C1['pong'].impala_deep_experts,
                                          'IMPALA deep expert (Table C.1)')),
    ('synthetic/dmlab', 'synthetic/dmlab', 'deep', (None, None)),
])
def test_the_papers_score_is_the_reference_line(level_name, level, network, expected):
  assert curves.paper_reference(level_name, level, network) == expected


def test_multi_task_curves_are_human_normalised(tmp_path):
  level = 'rooms_watermaze'
  test = dmlab30.canonical_level_name(level)
  human, random = dmlab30.HUMAN_SCORES[test], dmlab30.RANDOM_SCORES[test]
  assert curves._normalised(level, human) == pytest.approx(100.)  # pylint: disable=protected-access
  assert curves._normalised(level, random) == pytest.approx(0.)  # pylint: disable=protected-access
  reference, label = curves.paper_reference('dmlab30', level, 'deep')
  assert reference == pytest.approx(curves._normalised(  # pylint: disable=protected-access
      level, dmlab30.PAPER_TABLE_B1[test].impala_deep_pbt)) and 'PBT' in label
  write_episodes(tmp_path / 'episodes.csv', [(100, 1, level, 30., 100),
                                             (200, 2, 'explore_goal_locations_small', 100., 100)])
  assert curves.draw(tmp_path, 'dmlab30', 'deep')
  assert (tmp_path / 'learning_curve.png').stat().st_size > 0


def test_nothing_is_drawn_before_the_first_episode(tmp_path):
  assert not curves.draw(tmp_path, 'atari/pong', 'shallow')
  assert not (tmp_path / 'learning_curve.png').exists()


def test_progress_lines_say_the_time_left(tmp_path, caplog):
  config = configuration.build(logdir=str(tmp_path), level_name='synthetic/dmlab', summary_secs=1,
                               total_environment_frames=1_000_000)
  monitor = progress.Monitor(config, tf.summary.create_noop_writer())
  with caplog.at_level('INFO'):
    monitor.report(1_000, 1, {'total_loss': 0.})
  monitor.close()
  line = [r.getMessage() for r in caplog.records if r.getMessage().startswith('frames')][0]
  assert 'time left: measuring' in line  # No rate yet at the first report.
  start, _ = monitor._first_report  # pylint: disable=protected-access
  # 100,000 frames in 10 s since the first report: 10,000 frames/s, 899,000 frames to go: 90 s.
  assert monitor._time_left(start + 10., 101_000) == '0h01m left'  # pylint: disable=protected-access
  # 1,000 frames in 1 s: 998,000 to go take 998 s.
  assert monitor._time_left(start + 1., 2_000) == '0h16m left'  # pylint: disable=protected-access


def test_the_episodes_a_run_records_are_read_back_as_written(tmp_path):
  """The writer (progress.Monitor) and the readers share curves.COLUMNS and curves.episodes_csv."""
  config = configuration.build(logdir=str(tmp_path), level_name='synthetic/dmlab')
  monitor = progress.Monitor(config, tf.summary.create_noop_writer())
  # Two unrolls of 3 steps, batch-major; the first step of an unroll repeats the last of the one before.
  done = np.array([[True, False, True], [False, False, True]])
  info = types.SimpleNamespace(episode_return=np.array([[9., 1., 2.5], [9., 0., -3.]]),
                               episode_step=np.array([[7, 3, 12], [7, 1, 40]]))
  batch = types.SimpleNamespace(env_outputs=types.SimpleNamespace(done=done, info=info),
                                level_name=np.array([b'a', b'b']))
  monitor.episodes(batch, 1234)
  monitor.close()
  episodes = curves.read_episodes(curves.episodes_csv(str(tmp_path)))
  assert list(episodes['frames']) == [1234, 1234]
  assert list(episodes['level']) == ['a', 'b']
  assert list(episodes['episode_return']) == [2.5, -3.]
  assert list(episodes['episode_frames']) == [12, 40]
  assert curves.frames_so_far(curves.episodes_csv(str(tmp_path))) == 1234
