"""A video frame: the agent's view enlarged without smoothing, beside the emulator's colour screen
where the environment gives one, under a caption (level, step, return so far, instruction).

Pictures are enlarged by whole factors with nearest-neighbour sampling, so that each pixel the agent
saw stays a sharp square: smoothing would blend neighbours into shades the agent never saw.
"""
import cv2
import numpy as np

from video import screens

FONT = cv2.FONT_HERSHEY_SIMPLEX
MAX_FONT_SCALE = 0.6
MARGIN = 6  # Pixels around the caption's text.
GAP = 4  # Pixels between pictures.
TEXT_COLOUR = (255, 255, 255)
# The widest caption line a video's layout leaves room for, besides the level and the instruction.
WIDEST_COUNTS = 'step 99999  return -999.9'


def pictures(observation):
  """What one environment's observation shows, as uint8 RGB pictures: the agent's frame (of an Atari
  stack the newest, in grey) and the colour screen, if the observation has one."""
  frame = observation['frame']
  if frame.shape[-1] != 3:
    frame = np.repeat(frame[..., -1:], 3, axis=-1)
  shown = [frame]
  if screens.SCREEN in observation:
    shown.append(observation[screens.SCREEN])
  return shown


def enlarge(picture, factor):
  """Each pixel as a factor x factor square (nearest neighbour)."""
  return cv2.resize(picture, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


def _instruction(observation):
  instruction = observation.get('instruction', b'')
  return instruction.decode('utf-8') if isinstance(instruction, bytes) else str(instruction)


class Layout:
  """The frames of one video: its pictures enlarged to about `height` pixels each (by a whole factor
  each, at least 1), side by side and top-aligned, under a caption whose font fits the level's name
  in the width. Frames are uint8 RGB of `size` (width, height), both even, as video codecs want.
  """

  def __init__(self, first_observation, height, level):
    self.level = level
    shown = pictures(first_observation)
    self.factors = [max(1, height // picture.shape[0]) for picture in shown]
    width = sum(p.shape[1] * f for p, f in zip(shown, self.factors)) + GAP * (len(shown) - 1)
    picture_height = max(p.shape[0] * f for p, f in zip(shown, self.factors))
    widest = max(cv2.getTextSize(text, FONT, 1., 1)[0][0] for text in (level, WIDEST_COUNTS))
    self.font_scale = min(MAX_FONT_SCALE, (width - 2 * MARGIN) / widest)
    (_, self._text_height), baseline = cv2.getTextSize('Ag', FONT, self.font_scale, 1)
    self._line_height = self._text_height + baseline + 2
    # Level, counts, and the instruction where the level gives one.
    self._lines = 2 + bool(_instruction(first_observation))
    caption_height = self._lines * self._line_height + MARGIN
    self.caption_height = caption_height + (caption_height + picture_height) % 2
    self.size = (width + width % 2, self.caption_height + picture_height)

  def render(self, observation, step, episode_return):
    """The frame of `observation` at agent step `step` of its episode, with the return so far."""
    width, height = self.size
    frame = np.zeros((height, width, 3), np.uint8)
    left = 0
    for picture, factor in zip(pictures(observation), self.factors):
      big = enlarge(picture, factor)
      frame[self.caption_height:self.caption_height + big.shape[0], left:left + big.shape[1]] = big
      left += big.shape[1] + GAP
    lines = [self.level, f'step {step}  return {episode_return:g}', _instruction(observation)]
    for i, text in enumerate(lines[:self._lines]):
      bottom = MARGIN // 2 + i * self._line_height + self._text_height + 1
      cv2.putText(frame, text, (MARGIN, bottom), FONT, self.font_scale, TEXT_COLOUR, 1, cv2.LINE_AA)
    return frame
