"""The video's settings (`Settings`; configuration.py adds them to the runtime's) and their checks,
before any work starts."""
import dataclasses
import string

from runtime import config as config_lib


@dataclasses.dataclass(frozen=True)
class Settings:
  """What test mode records of the episodes it plays (video/)."""
  video_episodes: int = config_lib.setting(
      0, 'Test mode: record the first this many episodes of each level as video, '
      '<logdir>/videos/<level>_<episode>.mp4 and a short GIF beside each (0: none).',
      check=config_lib.NON_NEGATIVE)
  video_codec: str = config_lib.setting(
      'mp4v', "The MP4 video's codec, as OpenCV's FourCC: mp4v (MPEG-4 Part 2, which desktop players "
      'play) or vp09 (VP9, which browsers play too). One the installed OpenCV cannot write is '
      'reported before the first episode, and test mode goes on without video.')


def resolve(values, given):
  """Refuses, naming the flag, video settings test mode cannot honour."""
  del given  # Nothing here depends on which settings were given.
  episodes = values['video_episodes']
  if episodes and values['mode'] != 'test':
    raise ValueError(f'--video_episodes records the episodes of test mode: give --mode=test, or '
                     f'leave --video_episodes at 0 (got --mode={values["mode"]})')
  if episodes > values['test_num_episodes']:
    raise ValueError(f'--video_episodes={episodes} is more than the --test_num_episodes='
                     f'{values["test_num_episodes"]} test mode plays per level')
  codec = values['video_codec']
  if len(codec) != 4 or not all(c in string.ascii_letters + string.digits for c in codec):
    raise ValueError(f'--video_codec must be a FourCC of 4 letters or digits (mp4v, vp09), '
                     f'got {codec!r}')
