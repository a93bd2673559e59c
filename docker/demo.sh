#!/usr/bin/env bash
# The image's default command, as the original image's: a short training on a DeepMind Lab level, then
# test mode on what it trained, whose table of returns ends the output. LOGDIR (mount a volume there
# to keep the checkpoints and learning_curve.png) and FRAMES change it; run it again with a larger
# FRAMES and the same LOGDIR to resume.
set -euo pipefail
level=${LEVEL:-explore_goal_locations_small}
logdir=${LOGDIR:-/tmp/agent}
frames=${FRAMES:-20000}
python experiment.py --level_name="$level" --total_environment_frames="$frames" \
  --dataset_path="$DMLAB_DATASET_PATH" --logdir="$logdir"
python experiment.py --mode=test --level_name="$level" --test_num_episodes=2 \
  --dataset_path="$DMLAB_DATASET_PATH" --logdir="$logdir"
