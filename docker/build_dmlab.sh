#!/usr/bin/env bash
# The dmlab stage: DeepMind Lab's wheel into WHEEL_DIR, built by the project's recipe
# (docker/dmlab_recipe/build.sh) for the NumPy that requirements.txt pins.
# Sources: cloned from GitHub at the recipe's revisions, or, with DMLAB_MIRROR set, exported from the
# bare git directories in that folder (a mirror that lacks files leaves them out; their list goes
# beside the wheel as missing_files.txt, and the image says so).
# Usage: build_dmlab.sh WHEEL_DIR      (DMLAB_MIRROR, DMLAB_BUILD_JOBS from the build arguments)
set -euo pipefail
wheel_dir=$1
recipe=/opt/dmlab_recipe
work=/tmp/dmlab_build
repositories=(google-deepmind+lab abseil+abseil-cpp bazelbuild+bazel-skylib bazelbuild+rules_cc
              bazelbuild+rules_java bazelbuild+platforms)

# Whatever the build was told to use must be there, before the long work.
if [[ -n "${DMLAB_MIRROR:-}" ]]; then
  for repository in "${repositories[@]}"; do
    [[ -d "$DMLAB_MIRROR/$repository/repo" ]] || {
      echo "Error: DMLAB_MIRROR=$DMLAB_MIRROR has no $repository/repo: put the bare git directories" \
           "in docker/sources/ (docker/sources/README.md), or build without DMLAB_MIRROR to clone them." >&2
      exit 1
    }
  done
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  git python3-dev python3-setuptools python3-wheel
if [[ -z "${DMLAB_MIRROR:-}" ]]; then
  for repository in "${repositories[@]}"; do
    url="https://github.com/${repository/+//}.git"
    git ls-remote --quiet "$url" HEAD > /dev/null || {
      echo "Error: cannot reach $url for DeepMind Lab's sources; build with" \
           "--build-arg DMLAB_MIRROR=/opt/dmlab_sources/<folder> and bare git directories in" \
           "docker/sources/<folder> (docker/sources/README.md)." >&2
      exit 1
    }
  done
fi

# The Python the extension is built for: Debian's (python3-dev: its headers), with requirements.txt's NumPy.
numpy=$(grep -E '^numpy==' /opt/docker/requirements.txt)
python3 -m venv --system-site-packages /opt/build_python
/opt/build_python/bin/pip install --quiet "$numpy"

# Bazel's linux-sandbox needs user namespaces, which containers' default seccomp profiles deny, and
# without a sandbox (--spawn_strategy=local, as the recipe's README suggests) the build fails: the
# system repositories of the offline WORKSPACE are all of /usr/include, so a compile sees headers it
# did not declare ("undeclared inclusion(s) ... external/zlib_archive/limits.h", measured). The
# process-wrapper sandbox, made of symlinks, needs no namespaces and shows each action its declared
# inputs alone. The recipe writes the workspace .bazelrc itself, so this goes in the user's, read after.
echo 'build --spawn_strategy=processwrapper-sandbox' > "${HOME}/.bazelrc"
WORK=$work WHEEL_DIR=$wheel_dir PYTHON=/opt/build_python/bin/python JOBS="${DMLAB_BUILD_JOBS}" \
  MIRROR="${DMLAB_MIRROR:-}" bash "$recipe/build.sh"
missing=$work/lab.missing_files.txt
if [[ -s "$missing" ]]; then
  cp "$missing" "$wheel_dir/missing_files.txt"
  echo "DMLAB_MIRROR lacked $(wc -l < "$missing") of DeepMind Lab's files (listed in" \
       "/opt/dmlab_wheel/missing_files.txt): levels that use them render without them." >&2
fi
# The sources and Bazel's output root (gigabytes) are this stage's alone: gone before it is committed.
rm -rf "$work" "${HOME}/.cache/bazel"
