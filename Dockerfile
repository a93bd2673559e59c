# syntax=docker/dockerfile:1.7
#
# IMPALA (this TF2 port) with DeepMind Lab built from source, the psychlab dataset, and the test suite
# run at build time. See the README, "Reproducing the paper".
#
#   docker build -t impala .
#   docker run --rm impala            # a short DeepMind Lab training, then test mode on it
#
# Pins: the base image (Python 3.11 on Debian 12), DeepMind Lab's release tag, Bazel's version, the
# archives DeepMind Lab's WORKSPACE takes from moving branches (see below), and the project's Python
# packages, which come from requirements.txt through `make install`, exactly as outside Docker.
# tests/test_dockerfile.py checks these pins against the repository without a Docker engine.

# DeepMind Lab builds for x86-64 only.
FROM --platform=linux/amd64 python:3.11.13-bookworm

ARG DMLAB_RELEASE=release-2020-12-07
ARG BAZEL_VERSION=7.6.1
# The psychlab stimuli (Brady, Konkle, Alvarez & Oliva 2008), as DeepMind Lab's
# data/brady_konkle_oliva2008/README.md fetches them.
ARG BRADY_KONKLE_OLIVA2008_URL=https://bradylab.ucsd.edu/stimuli/ObjectsAll.zip

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# DeepMind Lab's build dependencies (docs/users/build.md), the EGL/OSMesa libraries its headless
# renderers link against, and what Bazel and the packaging script use.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential ca-certificates curl git gettext libffi-dev pkg-config unzip zip zlib1g-dev \
        freeglut3-dev libegl-dev libegl1-mesa-dev libgl-dev libgl1-mesa-dev libglu1-mesa-dev \
        libosmesa6-dev libsdl2-dev \
    && rm -rf /var/lib/apt/lists/*

# Bazel, one exact release, checked against its published SHA-256.
RUN mkdir /tmp/bazel && cd /tmp/bazel \
    && base="https://github.com/bazelbuild/bazel/releases/download/${BAZEL_VERSION}/bazel-${BAZEL_VERSION}-linux-x86_64" \
    && curl -fsSLO "${base}" && curl -fsSLO "${base}.sha256" \
    && sha256sum -c "bazel-${BAZEL_VERSION}-linux-x86_64.sha256" \
    && install -m 0755 "bazel-${BAZEL_VERSION}-linux-x86_64" /usr/local/bin/bazel \
    && cd / && rm -rf /tmp/bazel && bazel --version

# The project's virtual environment, made by the same command as outside Docker.
WORKDIR /opt/impala
COPY requirements.txt Makefile ./
RUN make install

# DeepMind Lab from its release tag, built against this image's Python 3.11 headers and the NumPy
# pinned in requirements.txt (the one in .venv), packaged as a wheel and installed into .venv.
RUN <<'EOF'
#!/usr/bin/env bash
set -euxo pipefail
git clone --depth 1 --branch "${DMLAB_RELEASE}" https://github.com/google-deepmind/lab.git /tmp/lab
cd /tmp/lab

# 1. Python and NumPy headers. DeepMind Lab takes them from the local repository @python_system,
#    whose BUILD file names a system Python's header paths; write one that names ours (step 2 makes
#    the WORKSPACE use it, with the repository rooted at "/").
mkdir -p bazel
py_include="$(/opt/impala/.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
np_include="$(/opt/impala/.venv/bin/python -c 'import numpy; print(numpy.get_include())')"
test -f "${py_include}/Python.h" && test -f "${np_include}/numpy/arrayobject.h"
py_include="${py_include#/}"
np_include="${np_include#/}"
cat > bazel/python.BUILD <<BUILD
# Written by the IMPALA Dockerfile: Python 3.11 and NumPy headers, relative to "/".
cc_library(
    name = "python_headers",
    hdrs = glob(["${py_include}/**/*.h", "${np_include}/**/*.h"]),
    includes = ["${py_include}", "${np_include}"],
    visibility = ["//visibility:public"],
)

alias(
    name = "python",
    actual = ":python_headers",
    visibility = ["//visibility:public"],
)
BUILD

# 2. The release's WORKSPACE downloads several dependencies from master/main branch archives,
#    which move. Replace each with a fixed tag; fail if any moving archive is left. And declare
#    @python_system as the repository of the file written in step 1.
/opt/impala/.venv/bin/python - <<'PY'
import pathlib
import re
import sys

TAGS = {  # GitHub repository: release tag
    'abseil/abseil-cpp': '20230125.3',
    'abseil/abseil-py': 'v1.4.0',
    'bazelbuild/bazel-skylib': '1.4.2',
    'bazelbuild/rules_cc': '0.0.9',
    'deepmind/dm_env': 'v1.6',
    'deepmind/tree': '0.1.8',
    'google/googletest': 'v1.13.0',
    'pybind/pybind11': 'v2.11.1',
}
workspace = pathlib.Path('WORKSPACE')
text = workspace.read_text()
for repository, tag in TAGS.items():
    name = repository.split('/')[1]
    directory = f'{name}-{tag[1:] if re.match(r"v[0-9]", tag) else tag}'  # GitHub drops the "v".
    for branch in ('master', 'main'):
        text = text.replace(f'https://github.com/{repository}/archive/{branch}.zip',
                            f'https://github.com/{repository}/archive/refs/tags/{tag}.zip')
        text = text.replace(f'"{name}-{branch}"', f'"{directory}"')
moving = re.findall(r'[^"]+/archive/(?:master|main)\.zip', text)
if moving:
    sys.exit(f'WORKSPACE still downloads moving archives: {moving}')
python_system = re.compile(r'^(?:new_local_repository|python_repo)\(\s*name = "python_system",.*?^\)$',
                           re.MULTILINE | re.DOTALL)
text, found = python_system.subn(
    'new_local_repository(\n    name = "python_system",\n'
    '    build_file = "@//bazel:python.BUILD",\n    path = "/",\n)', text)
if found != 1:
    sys.exit(f'WORKSPACE: expected one python_system repository, found {found}')
workspace.write_text(text)
PY

# 3. Bazel 7 settings for this WORKSPACE-based tree.
cat >> .bazelrc <<'RC'
common --enable_bzlmod=false
common --enable_workspace
build --cxxopt=-std=c++17
build --spawn_strategy=local
RC

bazel build -c opt //python/pip_package:build_pip_package
python3.11 -m venv /tmp/wheel-venv
/tmp/wheel-venv/bin/pip install --quiet wheel==0.45.1
PYTHON_BIN_PATH=/tmp/wheel-venv/bin/python ./bazel-bin/python/pip_package/build_pip_package /tmp/dmlab_pkg
# --no-deps: every package .venv has comes from requirements.txt.
/opt/impala/.venv/bin/pip install --no-deps /tmp/dmlab_pkg/*.whl
bazel shutdown
cd /
rm -rf /tmp/lab /tmp/dmlab_pkg /tmp/wheel-venv /root/.cache/bazel
/opt/impala/.venv/bin/python -c 'import deepmind_lab; print("Installed", deepmind_lab.Lab)'
EOF

# The psychlab dataset: the stimuli as 0001.png, 0002.png, ... in the order of their sorted file
# names, which is what DeepMind Lab's brady_konkle_oliva2008 reader expects. `--dataset_path` points here.
ENV DMLAB_DATASET_PATH=/opt/dmlab_datasets/brady_konkle_oliva2008
RUN <<'EOF'
#!/usr/bin/env bash
set -euxo pipefail
mkdir -p "${DMLAB_DATASET_PATH}" /tmp/stimuli
curl -fsSL "${BRADY_KONKLE_OLIVA2008_URL}" -o /tmp/stimuli/ObjectsAll.zip
unzip -q /tmp/stimuli/ObjectsAll.zip -d /tmp/stimuli
# Pillow comes with matplotlib, one of the pinned requirements.
/opt/impala/.venv/bin/python - <<'PY'
import os
import pathlib

from PIL import Image

source = pathlib.Path('/tmp/stimuli/OBJECTSALL')
target = pathlib.Path(os.environ['DMLAB_DATASET_PATH'])
names = sorted(name for name in os.listdir(source) if name.endswith(('jpg', 'JPG')))
if not names:
    raise SystemExit(f'no stimuli found in {source}')
for number, name in enumerate(names, start=1):
    with Image.open(source / name) as image:
        image.save(target / f'{number:04d}.png')
print(f'{len(names)} stimuli written to {target}')
PY
rm -rf /tmp/stimuli
EOF

# The project itself, and its whole test suite, including tests/test_dmlab_real.py, which needs
# the DeepMind Lab just built (outside this image those tests are skipped).
COPY . .
ENV PATH=/opt/impala/.venv/bin:${PATH}
RUN make test

# As the original image did: train briefly on a DeepMind Lab level, then run test mode on the result.
CMD ["sh", "-c", "python experiment.py --level_name=explore_goal_locations_small --total_environment_frames=20000 --dataset_path=\"$DMLAB_DATASET_PATH\" --logdir=/tmp/agent && python experiment.py --mode=test --level_name=explore_goal_locations_small --test_num_episodes=1 --dataset_path=\"$DMLAB_DATASET_PATH\" --logdir=/tmp/agent"]
