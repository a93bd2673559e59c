#!/usr/bin/env bash
# The stage every other starts from: Debian's Python 3.11 with venv (what `make install` makes .venv
# with), make, procps (the test suite stops processes with pkill), and the system's certificates with
# any proxy certificate that docker/ca-certificates/ brought. DeepMind Lab's run-time libraries are
# the Makefile's (DMLAB_PACKAGES): `make install DMLAB_WHEEL=...` installs them, as outside the image.
set -euo pipefail
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  ca-certificates make procps python3 python3-venv
update-ca-certificates
rm -rf /var/lib/apt/lists/*
python3 --version
