#!/usr/bin/env bash
# The image built on a machine that reaches Debian's and PyPI's package registries but neither Docker
# Hub nor GitHub (the project's own machines), as root, from the same Dockerfile and `make image`,
# with three build arguments changed (docs/docker.md, "Building without Docker Hub or GitHub"):
#   BASE_IMAGE=localhost/debian:bookworm   a Debian 12 base made here by debootstrap from Debian's packages
#   DMLAB_MIRROR=/opt/dmlab_sources/mirror  DeepMind Lab's sources from the bare git directories in MIRROR
#   BRADY_KONKLE_OLIVA2008_URL=            the stimuli left out (their host cannot be reached)
# and the machine's TLS proxy certificates put in docker/ca-certificates/. Prints each line of the
# build with the seconds since it started, into LOG as well (benchmarks/docker_image.py reads it).
# Usage: [MIRROR=/work/.mirror] [IMAGE=impala] [LOG=...] build_offline.sh [BUILD OPTIONS...]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mirror=${MIRROR:-/work/.mirror}
image=${IMAGE:-impala}
log=${LOG:-/var/tmp/impala_image/build.log}
base=localhost/debian:bookworm

# The recipe's sources, as its MIRROR names them; the build's first step says which one lacks.
[[ -d "$mirror/google-deepmind+lab/repo" ]] || {
  echo "Error: MIRROR=$mirror has no google-deepmind+lab/repo: give a folder of bare git directories" \
       "of the recipe's sources (docker/sources/README.md)" >&2
  exit 1
}
missing=$(for tool in podman debootstrap runc; do command -v $tool > /dev/null || echo $tool; done)
if [[ -n "$missing" ]]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap > /dev/null
fi
mkdir -p "$(dirname "$log")"
start=$(date +%s)
stamp() { while IFS= read -r line; do printf '%6d %s\n' $(( $(printf '%(%s)T') - start )) "$line"; done; }

{
  # The base: Debian 12's minimal root file system, from Debian's own packages.
  if ! podman image exists "$base"; then
    echo "=== base: debootstrap bookworm into $base"
    rootfs=$(mktemp -d /var/tmp/debian-rootfs.XXXXXX)
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian > /dev/null
    tar -C "$rootfs" -c . | podman import - "$base" > /dev/null
    rm -rf "$rootfs"
  fi
  echo "=== base: $base ready"
  # The sources and certificates, where the build context has them (both kept out of git).
  rm -rf "$repo/docker/sources/mirror"
  mkdir -p "$repo/docker/sources/mirror"
  cp -a "$mirror"/*+* "$repo/docker/sources/mirror/"
  cp /usr/local/share/ca-certificates/*.crt "$repo/docker/ca-certificates/" 2>/dev/null || true
  echo "=== build: make image"
  BUILDAH_ISOLATION=chroot make -C "$repo" --no-print-directory image IMAGE="$image" IMAGE_BUILD_ARGS="\
--build-arg BASE_IMAGE=$base --build-arg DMLAB_MIRROR=/opt/dmlab_sources/mirror \
--build-arg BRADY_KONKLE_OLIVA2008_URL= $*"
  echo "=== done: $image"
} 2>&1 | stamp | tee "$log"
