"""Records test mode's episodes: the first `--video_episodes` of each level, each from its start.

Test mode (runtime/evaluation.py) shows the recorder every actor's environment outputs, once as they
start (`actor.env_output`) and after every step (`observe`). Each environment is followed on its
own: an output marked done starts an episode with its observation (at a step that ends an episode,
the next one's first), and the steps after it add a frame each, captioned with the step and the
return so far. When the episode ends, a last frame repeats the last picture with the final step and
return (the one test mode reports), and its files are written. An episode cut short because its
environment process was replaced (a done output of length 0; test mode does not count it either) is
discarded, and the next one takes its number. The recorder only reads the outputs, and the agent
never sees the screens it adds (video/screens.py): recorded or not, test mode plays alike.
"""
import os
import threading

from absl import logging

from video import files
from video import screens

FOLDER = 'videos'


class _Episode:
  """One episode's frames as they come, into its VideoFiles."""

  def __init__(self, video_files, observation):
    self.files = video_files
    self.step = 0
    self._observation = observation
    video_files.add(observation, 0, 0.)

  def add(self, observation, episode_return):
    self.step += 1
    self._observation = observation
    self.files.add(observation, self.step, episode_return)

  def finish(self, episode_return):
    self.files.add(self._observation, self.step + 1, episode_return)
    self.files.close()


class Recorder:
  """Writes `<directory>/<level>_<episode>.mp4` and `.gif` for the first `episodes` episodes of each
  level, at `fps` frames a second. Its environments and inference are `environments(factory)`'s and
  `inference(inference)`'s; `close()` ends it."""

  def __init__(self, directory, episodes, codec, fps):
    self.directory = directory
    self._episodes = episodes
    self._codec = codec
    self._fps = fps
    self._started = {}  # Per level: episodes recorded or being recorded.
    self._recording = {}  # Per actor (environment): its _Episode.
    self._lock = threading.Lock()
    self.written = []  # MP4 paths, in the order their episodes ended.

  def environments(self, factory):
    """The environment factory a recorded test plays: `factory`'s, with Atari's colour screens."""
    return screens.environments(factory)

  def inference(self, inference):
    """The agent's inference on those environments' outputs, which it reads without the screens."""
    return screens.WithoutScreens(inference)

  def observe(self, actor, env_output):
    """Takes a runtime.acting.Actor's environment outputs: its first, then each step's."""
    for i, (level, actor_id) in enumerate(zip(actor.level_names, actor.actor_ids)):
      episode = self._recording.pop(actor_id, None)
      if not env_output.done[i]:
        if episode is not None:
          episode.add(_observation(env_output, i), float(env_output.info.episode_return[i]))
          self._recording[actor_id] = episode
        continue
      level = level.decode('utf-8')
      if episode is not None:
        if env_output.info.episode_step[i] > 0:
          episode.finish(float(env_output.info.episode_return[i]))
          self.written.append(episode.files.paths[0])
          logging.info('Video of %s: %s (%d frames) and its GIF.', level, episode.files.paths[0],
                       episode.files.num_frames)
        else:  # Its environment process was replaced: the episode is lost, its number free again.
          episode.files.discard()
          with self._lock:
            self._started[level] -= 1
      with self._lock:
        number = self._started.get(level, 0) + 1
        if number > self._episodes:
          continue
        self._started[level] = number
      first = _observation(env_output, i)
      video_files = files.VideoFiles(files.stem(self.directory, level, number), level, first,
                                     self._codec, self._fps)
      self._recording[actor_id] = _Episode(video_files, first)

  def close(self):
    """Discards the episodes not finished (test mode stopped first); logs where the videos are."""
    for episode in self._recording.values():
      episode.files.discard()
    self._recording.clear()
    if self.written:
      logging.info('Videos of %d episode(s) in %s (<level>_<episode>.mp4, and a GIF of the first '
                   '%d s of each).', len(self.written), self.directory, files.GIF_SECONDS)


def _observation(env_output, i):
  return {key: value[i] for key, value in env_output.observation.items()}


def start(config):
  """The recorder of a test mode that records (`--video_episodes`), or None: none asked for, or the
  videos cannot be written, which a line says before any episode (test mode then goes on without)."""
  if not config.video_episodes:
    return None
  directory = os.path.join(config.logdir, FOLDER)
  reason = files.cannot_write(directory, config.video_codec)
  if reason:
    logging.warning('No video: %s. Test mode goes on without it.', reason)
    return None
  return Recorder(directory, config.video_episodes, config.video_codec,
                  files.ENVIRONMENT_FPS / config.num_action_repeats)
