#!/usr/bin/env bash
# The psychlab stimuli of Brady, Konkle, Alvarez & Oliva (2008) into DEST, as DeepMind Lab's
# data/brady_konkle_oliva2008/README.md makes them: the archive's JPEGs, sorted by name, saved as
# 0001.png ... 2400.png. BRADY_KONKLE_OLIVA2008_URL set to the empty string leaves them out: DEST then
# holds only NOT_FETCHED, whose text the program prints when a level that needs them is asked for.
# Usage: fetch_stimuli.sh DEST
set -euo pipefail
dest=$1
count=2400  # DATASET_SIZE of DeepMind Lab's game_scripts/datasets/brady_konkle_oliva2008.lua
mkdir -p "$dest"
if [[ -z "${BRADY_KONKLE_OLIVA2008_URL}" ]]; then
  echo "This image was built with BRADY_KONKLE_OLIVA2008_URL='', without the psychlab stimuli;" \
       "rebuild without that build argument to fetch them (docs/docker.md)." > "$dest/NOT_FETCHED"
  echo "BRADY_KONKLE_OLIVA2008_URL is empty: the psychlab stimuli are left out." >&2
  exit 0
fi
work=$(mktemp -d)
# Python's own urllib and zipfile: the download is tried before anything is installed.
python3 - "${BRADY_KONKLE_OLIVA2008_URL}" "$work" <<'PY'
import sys
import urllib.request
import zipfile

url, work = sys.argv[1:]
try:
  urllib.request.urlretrieve(url, f'{work}/ObjectsAll.zip')
except (OSError, ValueError) as e:
  sys.exit(f'Error: cannot fetch the psychlab stimuli from BRADY_KONKLE_OLIVA2008_URL={url} ({e}); '
           'give a URL that serves ObjectsAll.zip, or --build-arg BRADY_KONKLE_OLIVA2008_URL= to '
           'build without them.')
with zipfile.ZipFile(f'{work}/ObjectsAll.zip') as archive:
  archive.extractall(work)
PY
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pil
python3 - "$work/OBJECTSALL" "$dest" "$count" <<'PY'
import os
import sys

from PIL import Image

source, dest, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(name for name in os.listdir(source) if name.endswith(('jpg', 'JPG')))
if len(names) != count:
  sys.exit(f'Error: {source} holds {len(names)} stimuli, DeepMind Lab reads {count}')
for number, name in enumerate(names, start=1):
  with Image.open(os.path.join(source, name)) as image:
    image.save(os.path.join(dest, f'{number:04d}.png'))
print(f'{count} stimuli written to {dest}')
PY
rm -rf "$work" /var/lib/apt/lists/*
