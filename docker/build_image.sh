#!/usr/bin/env bash
# `make image`: builds the Dockerfile with docker where its daemon answers, else podman, else buildah.
# Usage: build_image.sh IMAGE [BUILD OPTIONS...]    e.g. --build-arg TENSORFLOW_EXTRA=and-cuda
# podman and buildah read BUILDAH_ISOLATION (chroot where the machine gives containers no namespaces
# of their own, as docker/build_offline.sh sets it).
set -euo pipefail
image=$1
shift
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if command -v docker > /dev/null && docker info > /dev/null 2>&1; then
  builder=(docker build)
elif command -v podman > /dev/null; then
  builder=(podman build)
elif command -v buildah > /dev/null; then
  builder=(buildah bud)
else
  echo "Error: make image needs docker, podman or buildah; install one (on Debian or Ubuntu, as root:" \
       "apt-get install podman), then run make image again." >&2
  exit 1
fi
echo "make image: ${builder[*]} -t $image $* . (docs/docker.md; about 40 min on 2 cores)" >&2
exec "${builder[@]}" -t "$image" "$@" .
