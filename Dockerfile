# syntax=docker/dockerfile:1.7
#
# IMPALA (this TF2 port) with DeepMind Lab built from source, the psychlab dataset, and the test suite
# run at build time. See the README, "Reproducing the paper".
#
#   docker build -t impala .
#   docker run --rm impala            # a short DeepMind Lab training, then test mode on it
#
# Pins: the base image (Python 3.11 on Debian 12), and through docker/dmlab_recipe/build.sh the
# DeepMind Lab commit, the revisions of its source dependencies and Debian 12's Bazel 4.2.3; the
# project's Python packages come from requirements.txt through `make install`, exactly as outside
# Docker. tests/test_dockerfile.py checks these pins against the repository without a Docker engine.
#
# docker/dmlab_recipe/ is a verbatim copy of shared/dmlab/recipe/, the recipe that built DeepMind Lab
# on the project's machines (its notes: docker/dmlab_recipe/README.md). Copied because the build
# context is this repository alone.

# DeepMind Lab builds for x86-64 only. Debian 12 (bookworm) apt sources: the recipe needs their
# bazel-bootstrap (Bazel 4.2.3), which the rule revisions it pins belong to.
FROM --platform=linux/amd64 python:3.11.13-bookworm

# The psychlab stimuli (Brady, Konkle, Alvarez & Oliva 2008), as DeepMind Lab's
# data/brady_konkle_oliva2008/README.md fetches them.
ARG BRADY_KONKLE_OLIVA2008_URL=https://bradylab.ucsd.edu/stimuli/ObjectsAll.zip
# Bazel's parallel jobs (build.sh's JOBS): the recipe was proven with 2, on 2 cores.
ARG DMLAB_BUILD_JOBS=2

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# What this Dockerfile itself uses (the recipe installs DeepMind Lab's build dependencies).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates curl git unzip \
    && rm -rf /var/lib/apt/lists/*

# The project's virtual environment, made by the same command as outside Docker.
WORKDIR /opt/impala
COPY requirements.txt Makefile ./
RUN make install

# DeepMind Lab, built by the recipe (apt packages, sources cloned at pinned revisions, patches,
# offline WORKSPACE) into a wheel, which `make install` puts into .venv without dependencies.
COPY docker/dmlab_recipe /opt/dmlab_recipe
RUN <<'EOF'
#!/usr/bin/env bash
set -euxo pipefail
# PYTHON is .venv's own Python: its NumPy (requirements.txt) gives the headers the extension is
# built against, and it already has the setuptools and wheel the recipe needs (TensorFlow requires
# setuptools, and wheel through astunparse), so no second environment; build.sh checks all three.
# Bazel's linux-sandbox needs user namespaces, which Docker's default seccomp profile denies. The
# recipe writes the workspace .bazelrc itself, so the local strategy goes in the user's rc, which
# Bazel reads after it.
echo 'build --spawn_strategy=local' > "${HOME}/.bazelrc"
WORK=/tmp/dmlab_build WHEEL_DIR=/opt/dmlab_wheel PYTHON=/opt/impala/.venv/bin/python \
  JOBS="${DMLAB_BUILD_JOBS}" bash /opt/dmlab_recipe/build.sh
make install DMLAB_WHEEL=/opt/dmlab_wheel/deepmind_lab-1.0-py3-none-any.whl
# Sources, Bazel's output root and the wheel are not needed at run time: gone in this same layer.
rm -rf /tmp/dmlab_build /opt/dmlab_wheel "${HOME}/.bazelrc" "${HOME}/.cache/bazel" /var/lib/apt/lists/*
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
# the DeepMind Lab just built (where it is not installed, those tests are skipped).
COPY . .
ENV PATH=/opt/impala/.venv/bin:${PATH}
RUN make test

# As the original image did: train briefly on a DeepMind Lab level, then run test mode on the result.
CMD ["sh", "-c", "python experiment.py --level_name=explore_goal_locations_small --total_environment_frames=20000 --dataset_path=\"$DMLAB_DATASET_PATH\" --logdir=/tmp/agent && python experiment.py --mode=test --level_name=explore_goal_locations_small --test_num_episodes=1 --dataset_path=\"$DMLAB_DATASET_PATH\" --logdir=/tmp/agent"]
