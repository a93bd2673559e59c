"""The configuration: flags derived from Config's fields, and the run's settings recorded in its logdir
and taken from there by test mode and resumed runs."""
import dataclasses
import json
import os
import subprocess
import sys

from absl import flags
import pytest
import tensorflow as tf

import configuration
from runtime import config as config_lib
from runtime import run_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_field_has_a_flag_with_its_default_and_type():
  flag_values = flags.FlagValues()
  configuration.define_flags(flag_values)
  for field in dataclasses.fields(configuration.Config):
    if not field.metadata['flag']:  # Decided by a feature, in the runtime's terms: no flag.
      assert field.name not in flag_values, field.name
      continue
    flag = flag_values[field.name]
    assert flag.default == field.default, field.name
    assert flag.help, field.name
    assert type(flag.parser.parse(str(field.default))) is field.type, field.name  # pylint: disable=unidiomatic-typecheck
  flag_values(['program', '--network=shallow', '--nouse_lstm', '--batch_size=2'])
  assert configuration.given_flags(flag_values) == dict(network='shallow', use_lstm=False, batch_size=2)


def test_unknown_settings_are_refused():
  with pytest.raises(ValueError, match='unknown settings'):
    configuration.build(netwrok='deep')


def test_the_runtime_builds_alone_and_the_features_decide_in_its_terms():
  runtime_only = config_lib.Configuration()
  assert runtime_only.build().num_actors == 4
  with pytest.raises(ValueError, match=r"unknown settings \['agent'\]"):
    runtime_only.build(agent='a2c')
  assert {'agent', 'pbt_population'} <= set(configuration.FIELDS) - set(runtime_only.fields)
  assert 'a2c_sync' not in runtime_only.fields and 'pbt_member' not in runtime_only.fields
  assert configuration.build(agent='a2c').synchronous_actors
  assert not configuration.build(agent='a3c').synchronous_actors
  assert configuration.build(pbt_member=0).hyperparameter_directives
  assert not configuration.build().hyperparameter_directives


def record_run(logdir, **given):
  """A run's config.json, as training writes it, and an empty checkpoint beside it."""
  config = configuration.build(logdir=str(logdir), **given)
  run_config.write(config)
  tf.train.Checkpoint(step=tf.Variable(1)).save(os.path.join(logdir, 'ckpt'))
  return config


def test_resumed_and_test_runs_take_the_runs_settings(tmp_path):
  record_run(tmp_path, level_name='atari/pong', network='deep', center_frames=True, he_init=True)
  for mode in ('train', 'test'):
    config = configuration.resolve(dict(logdir=str(tmp_path), mode=mode))
    # Not the Atari preset's shallow network: the run's.
    assert (config.network, config.center_frames, config.he_init, config.level_name) == (
        'deep', True, True, 'atari/pong')
    assert config.unroll_length == 20  # Not a run setting: the preset, as for a new run.
  config = configuration.resolve(dict(logdir=str(tmp_path), mode='test', network='deep'))
  assert config.network == 'deep'  # Given, and agreeing with the run's.


@pytest.mark.parametrize('given,message', [
    (dict(network='shallow'), '--network=shallow contradicts the run in --logdir={logdir}, which was '
                              'trained with --network=deep'),
    (dict(center_frames=False), '--nocenter_frames contradicts .* with --center_frames'),
    (dict(level_name='atari/breakout'), '--level_name=atari/breakout contradicts'),
    (dict(atari_full_action_space=True), '--atari_full_action_space contradicts'),
])
@pytest.mark.parametrize('mode', ['train', 'test'])
def test_a_flag_that_contradicts_the_run_is_refused(tmp_path, given, message, mode):
  record_run(tmp_path, level_name='atari/pong', network='deep', center_frames=True)
  with pytest.raises(ValueError, match=message.format(logdir=tmp_path)):
    configuration.resolve(dict(logdir=str(tmp_path), mode=mode, **given))


def test_a_run_from_before_config_json_uses_the_flags_with_a_warning(tmp_path, caplog):
  record_run(tmp_path, level_name='atari/pong', network='deep')
  os.remove(tmp_path / run_config.FILE_NAME)
  with caplog.at_level('WARNING'):
    config = configuration.resolve(dict(logdir=str(tmp_path), mode='test', level_name='atari/pong'))
  assert config.network == 'shallow'  # The flags' (the preset's): nothing to check them against.
  assert 'could not be checked' in caplog.text


def test_the_recorded_configuration_is_the_whole_config(tmp_path):
  config = configuration.build(logdir=str(tmp_path), level_name='atari/pong', seed=5)
  run_config.write(config)
  with open(tmp_path / run_config.FILE_NAME) as f:
    assert configuration.build(**json.load(f)) == config


@pytest.mark.parametrize('logdir', ['/proc/impala_logdir', '/dev/null/impala_logdir'])
def test_a_logdir_that_cannot_be_written_is_refused(logdir):
  with pytest.raises(ValueError, match=f'--logdir={logdir} cannot be created or written'):
    configuration.resolve(dict(logdir=logdir))


def run_program(*args):
  return subprocess.run([sys.executable, 'experiment.py'] + list(args), cwd=REPO,
                        capture_output=True, text=True, timeout=300, check=False)


def test_test_mode_runs_with_the_runs_network_and_refuses_another(tmp_path):
  logdir = f'--logdir={tmp_path}'
  trained = run_program('--level_name=atari/pong', '--network=deep', '--center_frames', logdir,
                        '--num_actors=2', '--batch_size=2', '--unroll_length=10',
                        '--total_environment_frames=400')
  assert trained.returncode == 0, trained.stderr[-3000:]
  recorded = run_config.load(tmp_path)
  assert (recorded['network'], recorded['center_frames']) == ('deep', True)

  tested = run_program('--mode=test', logdir, '--test_num_episodes=1', '--max_episode_frames=1000')
  assert tested.returncode == 0, tested.stderr[-3000:]
  with open(tmp_path / 'evaluation.json') as f:
    metadata = json.load(f)['metadata']
  assert (metadata['config']['network'], metadata['config']['center_frames']) == ('deep', True)

  for flag, named in (('--network=shallow', '--network=shallow contradicts'),
                      ('--nocenter_frames', '--nocenter_frames contradicts')):
    refused = run_program('--mode=test', logdir, flag)
    assert refused.returncode != 0
    last_line = refused.stderr.strip().splitlines()[-1]
    assert named in last_line and str(tmp_path) in last_line, last_line


def test_atari57_takes_the_papers_multi_task_agent_and_warns_of_departures(caplog):
  config = configuration.build(level_name='atari57', num_actors=57)
  assert (config.network, config.use_lstm, config.atari_full_action_space, config.unroll_length,
          config.entropy_cost, config.gradient_clip_norm, config.total_environment_frames) == (
              'deep', False, True, 20, 0.01, 40., 57 * 200_000_000)
  with caplog.at_level('WARNING'):
    config = configuration.build(level_name='atari57', num_actors=57, network='shallow')
  assert config.network == 'shallow'  # Allowed, with a warning naming it.
  assert "--network=shallow departs from the paper's Atari-57 multi-task agent (deep)" in caplog.text
  single = configuration.build(level_name='atari/pong')
  assert (single.network, single.atari_full_action_space) == ('shallow', False)  # The experts'.
