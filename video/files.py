"""One episode's video files: the MP4 through OpenCV's VideoWriter, a short GIF through Pillow
(matplotlib's own dependency); and the check, before test mode starts, that they can be written."""
import os
import subprocess
import sys
import tempfile

import cv2
from PIL import Image

from video import frames

VIDEO_HEIGHT = 420  # About how tall the MP4's pictures are enlarged.
GIF_HEIGHT = 216  # The GIF's: a small file, for a page or a README.
GIF_SECONDS = 15  # The GIF holds the episode's first seconds only; the MP4 holds it all.
# DeepMind Lab and the Atari emulator both run at 60 frames a second: an agent step lasts
# num_action_repeats of them, and the video plays at the speed of the game.
ENVIRONMENT_FPS = 60
# Opens a writer with the codec in a child, whose FFmpeg messages on failure stay there.
_PROBE = """
import os, sys, cv2, numpy as np
path, codec = sys.argv[1:]
writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*codec), 15, (16, 16))
opened = writer.isOpened()
if opened:
  writer.write(np.zeros((16, 16, 3), np.uint8))
writer.release()
sys.exit(0 if opened and os.path.getsize(path) else 1)
"""


def cannot_write(directory, codec):
  """Why videos with `codec` cannot be written to `directory` (which it creates), in a line naming
  it; None if they can."""
  try:
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory):
      pass
  except OSError as e:
    return f'cannot write videos to {directory}: {e.strerror or e}'
  with tempfile.TemporaryDirectory(dir=directory) as probe:
    result = subprocess.run([sys.executable, '-c', _PROBE, os.path.join(probe, 'probe.mp4'), codec],
                            capture_output=True, timeout=120, check=False)
  if result.returncode:
    return (f'--video_codec={codec}: the installed OpenCV ({cv2.__version__}) cannot write MP4 '
            'video with this codec (mp4v is the default)')
  return None


def stem(directory, level, episode):
  """<directory>/<level>_<episode>, the level's slashes made underscores (atari_pong_1)."""
  return os.path.join(directory, f'{level.replace("/", "_")}_{episode}')


class VideoFiles:
  """`stem`.mp4, every frame, and `stem`.gif, the first GIF_SECONDS, of one episode of `level`, laid
  out after its first observation. Frames come with `add`; `close` writes them, `discard` removes
  them."""

  def __init__(self, stem_path, level, first_observation, codec, fps):
    self.paths = (stem_path + '.mp4', stem_path + '.gif')
    self._video = frames.Layout(first_observation, VIDEO_HEIGHT, level)
    self._gif = frames.Layout(first_observation, GIF_HEIGHT, level)
    self._writer = cv2.VideoWriter(self.paths[0], cv2.VideoWriter_fourcc(*codec), fps,
                                   self._video.size)
    if not self._writer.isOpened():
      raise OSError(f'OpenCV could not open {self.paths[0]} for --video_codec={codec}')
    self._gif_frames = []
    self._gif_max_frames = int(GIF_SECONDS * fps)
    self._gif_milliseconds = round(100 / fps) * 10  # GIF durations are in hundredths.
    self.num_frames = 0

  def add(self, observation, step, episode_return):
    self._writer.write(cv2.cvtColor(self._video.render(observation, step, episode_return),
                                    cv2.COLOR_RGB2BGR))
    if len(self._gif_frames) < self._gif_max_frames:
      # Kept with a palette each, a third of their RGB size, until the GIF is written. Pillow's
      # fast octree quantizer: its median cut took 25 times longer a frame.
      self._gif_frames.append(Image.fromarray(self._gif.render(observation, step, episode_return))
                              .quantize(256, method=Image.Quantize.FASTOCTREE))
    self.num_frames += 1

  def close(self):
    self._writer.release()
    first, *rest = self._gif_frames
    first.save(self.paths[1], save_all=True, append_images=rest, duration=self._gif_milliseconds,
               loop=0)
    self._gif_frames = []

  def discard(self):
    self._writer.release()
    self._gif_frames = []
    for path in self.paths:
      if os.path.exists(path):
        os.remove(path)
