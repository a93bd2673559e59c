"""Saves what the agent sees of a DeepMind Lab level as a PNG: the image's proof that its DeepMind Lab
renders (docs/docker.md). The frame is the agent's (96 x 72, RGB), enlarged without smoothing.

    python docker/render_frame.py --level=explore_goal_locations_small --out=/agent/frame.png
"""
import argparse
import os
import sys

import deepmind_lab
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # The project's root.
from environments import dmlab  # pylint: disable=wrong-import-position


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--level', default='explore_goal_locations_small')
  parser.add_argument('--out', required=True)
  parser.add_argument('--steps', type=int, default=25, help='agent steps (4 frames each) first')
  parser.add_argument('--scale', type=int, default=4)
  parser.add_argument('--seed', type=int, default=1)
  args = parser.parse_args()
  lab = deepmind_lab.Lab(dmlab.level_path(args.level), ['RGB_INTERLEAVED'],
                         config={'width': '96', 'height': '72', 'logLevel': 'WARN'})
  lab.reset(seed=args.seed)
  turn_right = np.array([20, 0, 0, 0, 0, 0, 0], np.intc)  # Looks around the room.
  for _ in range(args.steps):
    lab.step(turn_right, num_steps=4)
  frame = lab.observations()['RGB_INTERLEAVED']
  lab.close()
  height, width, _ = frame.shape
  Image.fromarray(frame).resize((width * args.scale, height * args.scale), Image.NEAREST).save(args.out)
  print(f'{args.level}: frame {width}x{height} after {args.steps} steps, saved {args.out} '
        f'({args.scale}x, mean colour {frame.reshape(-1, 3).mean(0).round(1).tolist()})')


if __name__ == '__main__':
  main()
