"""Video of test mode's episodes (`--video_episodes`): what the agent saw, as MP4 and GIF files.

  settings.py  the flags, declared once with their checks (configuration.py adds them to the runtime's)
  screens.py   the Atari emulator's colour screen beside the agent's input, asked for only by a
               test that records: the environments' side, and inference that never sees it
  frames.py    a video frame: the pictures enlarged without smoothing, under a caption
  files.py     one episode's MP4 (OpenCV) and GIF (Pillow), and the check that they can be written
  recorder.py  follows each test environment's episodes from their start and records the first N
               of each level

Test mode (runtime/evaluation.py) knows nothing of it: experiment.py hands it a recorder.
"""
