"""Test mode's video (--video_episodes, video/): the frames, the files, the flag's refusals, returns
unchanged by recording, bad input reported before the first episode, and `make watch`."""
import json
import logging
import os
import shlex
import subprocess
import sys

from ale_py import ALEInterface, LoggerMode, roms
import cv2
import numpy as np
from PIL import Image
import pytest

import configuration
import environments
from environments import synthetic
import experiment
from runtime import learner as learner_lib
from runtime import run_config
from video import files
from video import frames
from video import recorder
from video import screens

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_DMLAB = dict(level_name=synthetic.LEVEL_NAME, network='shallow', width=32, height=24)


def record_training(logdir, **given):
  """What a training run leaves for test mode: its config.json and a checkpoint of its agent."""
  config = configuration.build(logdir=str(logdir), **given)
  run_config.write(config)
  env_spec = environments.environment_spec(config.level_name, config.env_config)
  _, _, manager = learner_lib.learner_setup(config, env_spec, '/cpu:0')
  manager.save()


def config_of_test_mode(logdir, **given):
  return configuration.resolve(dict(logdir=str(logdir), mode='test', **given))


def read_video(path):
  capture = cv2.VideoCapture(path)
  decoded = []
  while True:
    read, frame = capture.read()
    if not read:
      return decoded
    decoded.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))


def test_a_recorded_atari_game_shows_the_emulators_colour_screen_and_the_agent_reads_without_it():
  environment = screens.environments(environments.create_environment)(
      level_name='atari/pong', seed=3, is_test=False, config=environments.EnvConfig())
  # A second emulator with the same seed and actions (no no-op starts in training): the reference.
  ALEInterface.setLoggerMode(LoggerMode.Error)
  reference = ALEInterface()
  reference.setInt('random_seed', 3)
  reference.setFloat('repeat_action_probability', 0.)
  reference.loadROM(roms.get_rom_path('pong'))
  reference.reset_game()
  actions = reference.getMinimalActionSet()
  output = environment.initial()
  for action in [0, 2, 2, 3, 1, 2] * 5:
    np.testing.assert_array_equal(output.observation[screens.SCREEN], reference.getScreenRGB())
    output = environment.step(action)
    for _ in range(4):
      reference.act(actions[action])
  environment.close()

  agent = AgentInference()
  inference = screens.WithoutScreens(agent)
  assert inference((np.int32(2), output, 'state')) == 'outputs'
  (last_action, env_output, state), = agent.inputs
  assert (last_action, state, env_output.reward) == (2, 'state', output.reward)
  assert list(env_output.observation) == ['frame']
  assert env_output.observation['frame'] is output.observation['frame']
  inference.close()
  assert agent.closed


class AgentInference:
  """Stands for the agent's inference: keeps what it was asked."""

  def __init__(self):
    self.inputs = []
    self.closed = False

  def __call__(self, inputs):
    self.inputs.append(inputs)
    return 'outputs'

  def close(self):
    self.closed = True


def test_frames_enlarge_each_pixel_to_a_square_beside_the_atari_screen():
  rng = np.random.default_rng(0)
  stack = rng.integers(0, 256, (84, 84, 4), np.uint8)
  screen = rng.integers(0, 256, (210, 160, 3), np.uint8)
  observation = {'frame': stack, screens.SCREEN: screen}
  layout = frames.Layout(observation, 420, 'atari/pong')
  assert layout.factors == [5, 2]
  frame = layout.render(observation, 7, -3.)
  assert frame.shape == (layout.size[1], layout.size[0], 3) and layout.size[0] % 2 == layout.size[1] % 2 == 0
  top = layout.caption_height
  # The newest frame of the stack, in grey, then the colour screen, each pixel a square (np.kron).
  agent = np.kron(stack[..., -1], np.ones((5, 5), np.uint8))[..., None].repeat(3, axis=-1)
  np.testing.assert_array_equal(frame[top:top + 420, :420], agent)
  left = 420 + frames.GAP
  np.testing.assert_array_equal(frame[top:top + 420, left:left + 320],
                                np.kron(screen, np.ones((2, 2, 1), np.uint8)))
  # The caption: text where the counts are, another step another caption, the pictures alike.
  assert frame[:top].any()
  other = layout.render(observation, 8, -3.)
  assert (other[:top] != frame[:top]).any() and (other[top:] == frame[top:]).all()


class Actor:
  """What the recorder reads of a runtime.acting.Actor: its environments' levels and ids."""

  def __init__(self, levels):
    self.level_names = np.array([level.encode('utf-8') for level in levels], object)
    self.actor_ids = np.arange(len(levels), dtype=np.int32)


def outputs(pictures, done, episode_step, episode_return):
  """A group's StepOutput: each environment's frame a flat colour, its number in `pictures`."""
  frame = np.array(pictures, np.uint8)[:, None, None, None] * np.ones((1, 24, 32, 3), np.uint8)
  return environments.StepOutput(
      reward=np.zeros(len(pictures), np.float32),
      info=environments.StepOutputInfo(np.array(episode_return, np.float32),
                                       np.array(episode_step, np.int32)),
      done=np.array(done), observation={'frame': frame})


def test_each_environment_is_recorded_from_an_episode_start_and_a_lost_episode_again(tmp_path):
  videos = recorder.Recorder(str(tmp_path), episodes=1, codec='mp4v', fps=15)
  actor = Actor(['level/a', 'level/b'])
  videos.observe(actor, outputs([30, 190], [True, True], [0, 0], [0, 0]))
  videos.observe(actor, outputs([30, 230], [False, False], [4, 4], [1, 0]))
  # a's process is replaced (length 0: its episode is lost); b's episode ends (2 steps, return 5).
  videos.observe(actor, outputs([70, 0], [True, True], [0, 8], [0, 5]))
  for picture in (110, 150):
    videos.observe(actor, outputs([picture, 0], [False, False], [4, 4], [2, 0]))
  videos.observe(actor, outputs([0, 0], [True, False], [12, 4], [3, 0]))
  videos.close()
  # One video a level: b's first episode, a's first whole one. b's second was not recorded.
  assert sorted(os.listdir(tmp_path)) == ['level_a_1.gif', 'level_a_1.mp4', 'level_b_1.gif',
                                          'level_b_1.mp4']
  assert videos.written == [str(tmp_path / 'level_b_1.mp4'), str(tmp_path / 'level_a_1.mp4')]
  # Each frame's picture, the last again; MPEG-4's YUV shifts a grey by a few levels.
  for name, pictures in (('level_a_1', [70, 110, 150, 150]), ('level_b_1', [190, 230, 230])):
    decoded = read_video(str(tmp_path / f'{name}.mp4'))
    layout = frames.Layout({'frame': np.zeros((24, 32, 3), np.uint8)}, files.VIDEO_HEIGHT, name)
    colours = [int(round(frame[layout.caption_height:].mean())) for frame in decoded]
    assert colours == pytest.approx(pictures, abs=8), name


@pytest.mark.parametrize('given, message', [
    (dict(video_episodes=1), '--video_episodes records the episodes of test mode: give --mode=test'),
    (dict(mode='test', video_episodes=-1), '--video_episodes must be >= 0, got -1'),
    (dict(mode='test', video_episodes=3, test_num_episodes=2),
     '--video_episodes=3 is more than the --test_num_episodes=2'),
    (dict(mode='test', video_episodes=1, video_codec='h264x'), '--video_codec must be a FourCC'),
])
def test_the_flag_is_refused_outside_test_mode_and_negative(given, message):
  with pytest.raises(ValueError, match=message):
    configuration.build(**given)


def test_recording_atari_changes_no_return_and_a_missing_codec_still_writes_scores(tmp_path, caplog):
  caplog.set_level(logging.WARNING)
  record_training(tmp_path, level_name='atari/pong')
  # Games cut off after 100 steps; their returns differ with the no-op starts drawn.
  given = dict(test_num_episodes=2, max_episode_frames=400)
  recorded = experiment.test(config_of_test_mode(tmp_path, video_episodes=2, **given))
  videos = sorted(os.listdir(tmp_path / recorder.FOLDER))
  assert videos == ['atari_pong_1.gif', 'atari_pong_1.mp4', 'atari_pong_2.gif', 'atari_pong_2.mp4']
  first = read_video(str(tmp_path / recorder.FOLDER / 'atari_pong_1.mp4'))[0]
  assert first.shape[1] == 420 + frames.GAP + 320  # The agent's input beside the colour screen.
  os.remove(tmp_path / 'evaluation.json')

  no_codec = experiment.test(config_of_test_mode(tmp_path, video_episodes=2, video_codec='zzzz', **given))
  # One line, before the first episode (none was recorded), naming the codec.
  assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
      f'No video: --video_codec=zzzz: the installed OpenCV ({cv2.__version__}) cannot write MP4 video '
      'with this codec (mp4v is the default). Test mode goes on without it.']
  with open(tmp_path / 'evaluation.json') as f:
    assert json.load(f)['episode_returns'] == no_codec['episode_returns']
  assert recorded['episode_returns'] == no_codec['episode_returns']
  assert len(recorded['episode_returns']['pong']) == 2


def test_an_unwritable_video_folder_is_named_before_any_episode(tmp_path, caplog):
  (tmp_path / recorder.FOLDER).write_text('a file where the folder goes')
  config = configuration.build(logdir=str(tmp_path), mode='test', video_episodes=1)
  with caplog.at_level(logging.WARNING):
    assert recorder.start(config) is None
  assert [r.getMessage() for r in caplog.records] == [
      f'No video: cannot write videos to {tmp_path / recorder.FOLDER}: File exists. Test mode goes '
      'on without it.']


def watch_command(logdir, episodes):
  """The Makefile's watch rule: its commands, with this Python, `logdir` and WATCH_EPISODES."""
  makefile = open(os.path.join(REPO, 'Makefile')).read().replace('\\\n', ' ')
  rule = makefile.split('\nwatch:', 1)[1].split('\n\n', 1)[0]
  commands = [line.strip().lstrip('@') for line in rule.splitlines() if line.startswith('\t')]
  variables = {'$(BIN)/python': sys.executable, '$(LOGDIR)': str(logdir), '$(VENV)': '.venv',
               '$(BIN)': os.path.dirname(sys.executable)}
  script = ' && '.join(commands).replace('$(WATCH_EPISODES)', str(episodes))
  for name, value in variables.items():
    script = script.replace(name, shlex.quote(value))
  assert '$(' not in script, script
  return script


def test_make_watch_records_a_synthetic_run_from_its_start_and_touches_nothing_training_reads(
    tmp_path):
  record_training(tmp_path, **SMALL_DMLAB)
  before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
  result = subprocess.run(['bash', '-c', watch_command(tmp_path, episodes=2)], cwd=REPO,
                          capture_output=True, text=True, timeout=170, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  videos = tmp_path / recorder.FOLDER
  assert f'{videos}/' in result.stdout  # It says where they are.
  assert sorted(os.listdir(videos)) == [f'synthetic_dmlab_{i}.{kind}' for i in (1, 2)
                                        for kind in ('gif', 'mp4')]
  # Test mode wrote what it writes; the checkpoint, its index and config.json are as they were.
  assert set(os.listdir(tmp_path)) - set(before) <= {'evaluation.json', 'evaluation.png',
                                                     recorder.FOLDER}
  assert {name: (tmp_path / name).read_bytes() for name in before} == before

  decoded = read_video(str(videos / 'synthetic_dmlab_1.mp4'))
  # The first observation, then one a step, then the last picture again with the final return.
  assert len(decoded) == synthetic.EPISODE_STEPS + 1
  config = configuration.build(logdir=str(tmp_path), **SMALL_DMLAB)
  first = synthetic.SyntheticDmLab(config.seed, config.env_config).initial().observation
  layout = frames.Layout(first, files.VIDEO_HEIGHT, synthetic.LEVEL_NAME)
  expected = layout.render(first, 0, 0.).astype(float)
  assert decoded[0].shape == expected.shape
  error, second = (np.abs(decoded[i] - expected).mean() for i in (0, 1))
  # Random colours lose some to MPEG-4; the second frame (another picture) is far further off.
  assert error < 12 and error < second / 4, f'mean error {error:.1f} of 255, the second {second:.1f}'
  with Image.open(videos / 'synthetic_dmlab_1.gif') as gif:
    assert gif.n_frames == synthetic.EPISODE_STEPS + 1
    assert gif.size == frames.Layout(first, files.GIF_HEIGHT, synthetic.LEVEL_NAME).size
