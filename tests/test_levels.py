"""The levels a run plays, DMLab-30 levels left out explicitly, and levels refused before any work."""
import os
import subprocess
import sys

import pytest
import tensorflow as tf

import configuration
import dmlab30
from runtime import levels as levels_lib
from runtime import progress
from runtime import run_config

NATLAB = ('natlab_fixed_large_map', 'natlab_varying_map_regrowth', 'natlab_varying_map_randomized')
DATASET = ('psychlab_arbitrary_visuomotor_mapping', 'psychlab_continuous_recognition')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dmlab30_config(**given):
  return configuration.build(level_name='dmlab30', num_actors=30, **given)


def test_excluded_levels_are_neither_trained_nor_tested():
  config = dmlab30_config(exclude_levels=','.join(NATLAB + DATASET))
  trained, tested = levels_lib.actor_levels(config), levels_lib.test_levels(config)
  assert len(set(trained)) == len(set(tested)) == 25 and len(trained) == 30
  assert not set(NATLAB + DATASET) & set(trained + tested)
  # Actors are dealt over the 25 in the suite's order: actor i plays level i mod 25.
  assert trained[25:] == trained[:5]
  # A hold-out level is left out by either of its names.
  config = dmlab30_config(exclude_levels=','.join(DATASET) + ',rooms_collect_good_objects_test')
  assert 'rooms_collect_good_objects_train' not in levels_lib.actor_levels(config)
  assert 'rooms_collect_good_objects_test' not in levels_lib.test_levels(config)
  assert levels_lib.notes(config) == [
      'DMLab-30: 27 of 30 levels; not run (--exclude_levels): rooms_collect_good_objects_train, '
      'psychlab_arbitrary_visuomotor_mapping, psychlab_continuous_recognition.']


@pytest.mark.parametrize('given, message', [
    (dict(level_name='dmlab30', num_actors=30), '--dataset_path to its folder, or leave them out '
     'with --exclude_levels=psychlab_arbitrary_visuomotor_mapping,psychlab_continuous_recognition'),
    (dict(level_name='psychlab_continuous_recognition'), 'need the brady_konkle_oliva2008 dataset'),
    (dict(level_name='psychlab_continuous_recognition', dataset_path='/no/such/folder'),
     '--dataset_path=/no/such/folder is not a folder'),
    (dict(level_name='rooms_watermaze', exclude_levels='natlab_fixed_large_map'),
     '--exclude_levels leaves levels out of --level_name=dmlab30; this run plays rooms_watermaze'),
    (dict(level_name='dmlab30', exclude_levels='natlab_fixed_large_map,seekavoid_arena_01'),
     "--exclude_levels: ['seekavoid_arena_01'] are not DMLab-30 levels"),
    (dict(level_name='dmlab30', exclude_levels=','.join(dmlab30.TRAINING_LEVELS)),
     '--exclude_levels leaves no DMLab-30 level to play'),
])
def test_levels_that_cannot_be_played_are_refused_naming_the_flag(given, message):
  with pytest.raises(ValueError) as raised:
    configuration.build(**given)
  assert message in str(raised.value)


def test_a_folder_without_the_stimuli_is_refused_with_what_it_says(tmp_path):
  with pytest.raises(ValueError, match=f'--dataset_path={tmp_path} has no 0001.png: make it as'):
    configuration.build(level_name='psychlab_continuous_recognition', dataset_path=str(tmp_path))
  # What an image built with BRADY_KONKLE_OLIVA2008_URL='' leaves there (docker/fetch_stimuli.sh).
  fetch = subprocess.run(['bash', os.path.join(REPO, 'docker', 'fetch_stimuli.sh'), str(tmp_path)],
                         env=dict(os.environ, BRADY_KONKLE_OLIVA2008_URL=''), capture_output=True,
                         text=True, check=True)
  assert 'left out' in fetch.stderr and os.listdir(tmp_path) == ['NOT_FETCHED']
  with pytest.raises(ValueError, match="built with BRADY_KONKLE_OLIVA2008_URL='', without the "
                     'psychlab stimuli; rebuild without that build argument'):
    configuration.build(level_name='dmlab30', num_actors=30, dataset_path=str(tmp_path))


def test_the_dataset_levels_run_with_a_dataset_folder(tmp_path):
  (tmp_path / levels_lib.DATASET_FIRST_FILE).touch()
  config = dmlab30_config(dataset_path=str(tmp_path))
  assert set(DATASET) <= set(levels_lib.actor_levels(config))
  assert levels_lib.notes(config) == []


def test_a_resumed_or_tested_run_keeps_its_exclusions_unless_told_otherwise(tmp_path):
  logdir = str(tmp_path)
  run_config.write(dmlab30_config(logdir=logdir, exclude_levels=','.join(DATASET + NATLAB)))
  assert configuration.resolve(dict(logdir=logdir)).exclude_levels == ','.join(DATASET + NATLAB)
  # A machine with the dataset may play those levels: not a contradiction, as a network flag is.
  open(os.path.join(logdir, levels_lib.DATASET_FIRST_FILE), 'w').close()
  changed = configuration.resolve(dict(logdir=logdir, exclude_levels=','.join(NATLAB),
                                       dataset_path=logdir))
  assert set(DATASET) <= set(levels_lib.test_levels(changed))


def test_the_running_score_of_a_run_with_exclusions_is_over_the_levels_it_plays(tmp_path):
  config = dmlab30_config(logdir=str(tmp_path), exclude_levels=','.join(DATASET))
  monitor = progress.Monitor(config, tf.summary.create_noop_writer())
  played = sorted(set(levels_lib.actor_levels(config)))
  for level in played[1:]:
    monitor._recent[level].append(1000.)  # pylint: disable=protected-access
  assert monitor.human_normalized_score() is None  # One level has not finished an episode yet.
  monitor._recent[played[0]].append(1000.)  # pylint: disable=protected-access
  assert monitor.human_normalized_score() == 100.  # Every level capped at 100.
  monitor.close()


def test_a_level_that_cannot_start_ends_the_command_with_its_message_and_the_hint(tmp_path):
  """An environment whose process dies before it starts (as a natlab level does under a wheel
  without its maps) ends experiment.py with the engine's last words, not a restart loop."""
  done = subprocess.run(
      [sys.executable, '-c', 'import sys; sys.argv[1:] = ["--logdir=" + sys.argv[1]]; '
       'import tests.exiting_level as level; level.main()', str(tmp_path)],
      cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 1, done.stderr[-2000:]
  assert "Didn't find map 'nowhere'" in done.stderr
  assert '--exclude_levels' in done.stderr and 'Traceback' not in done.stderr
