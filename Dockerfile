# IMPALA (this TF2 port) with DeepMind Lab built from source, the psychlab stimuli, and the test suite
# run at build time. docs/docker.md tells the whole story: how to build, what each build argument is
# for, and what this Dockerfile was measured to do.
#
#   make image                  # docker, podman or buildah, whichever this machine has
#   docker build -t impala .    # the same, by hand
#   docker run --rm impala      # a short DeepMind Lab training, then test mode on it (docker/demo.sh)
#
# Plain Dockerfile syntax only (no `# syntax=` frontend, no heredoc RUN): Docker's BuildKit and classic
# builders, podman and buildah all read it offline. Every step longer than a line is a script under
# docker/, which stops at its first error.
#
# Build arguments, each with the user's default (docs/docker.md, "Build arguments"):
#   BASE_IMAGE                  a Debian 12 image; pinned to a point release
#   DMLAB_MIRROR                empty: DeepMind Lab's sources are cloned at the recipe's revisions;
#                               else a folder of bare git directories inside docker/sources/
#   BRADY_KONKLE_OLIVA2008_URL  the psychlab stimuli; empty: left out, and the two levels that need
#                               them say so
#   TENSORFLOW_EXTRA            empty: TensorFlow for the CPU; and-cuda: for a GPU learner
#   DMLAB_BUILD_JOBS            Bazel's parallel jobs
#
# Debian 12 with Debian's own Python 3.11 (not the official Python image): DeepMind Lab's recipe needs
# bookworm's Bazel 4.2.3 either way, and with Debian's Python one base serves every machine, including
# one that makes it with debootstrap from Debian's packages alone (docker/build_offline.sh).
ARG BASE_IMAGE=debian:12.11

# ---------------------------------------------------------------------------------------------------
# What every stage starts from: Debian's Python, make, and the libraries DeepMind Lab loads at run time.
FROM --platform=linux/amd64 ${BASE_IMAGE} AS system
# Certificates of a TLS-intercepting proxy, for builds behind one: *.crt files put there (none in the
# repository) join the system store, which pip is told to use too.
COPY docker/ca-certificates /usr/local/share/ca-certificates/
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
COPY docker/install_system.sh /opt/docker/
RUN bash /opt/docker/install_system.sh

# ---------------------------------------------------------------------------------------------------
# The psychlab stimuli (Brady, Konkle, Alvarez & Oliva 2008), fetched as DeepMind Lab's
# data/brady_konkle_oliva2008/README.md does. Before DeepMind Lab's build, so that an unreachable URL
# fails the build at once.
FROM system AS stimuli
ARG BRADY_KONKLE_OLIVA2008_URL=https://bradylab.ucsd.edu/stimuli/ObjectsAll.zip
COPY docker/fetch_stimuli.sh /opt/docker/
RUN bash /opt/docker/fetch_stimuli.sh /opt/dmlab_datasets/brady_konkle_oliva2008

# ---------------------------------------------------------------------------------------------------
# DeepMind Lab, built by the project's recipe (docker/dmlab_recipe/: Debian's Bazel, pinned sources,
# two patches, an offline WORKSPACE) into a wheel. Only the wheel leaves this stage.
FROM system AS dmlab
ARG DMLAB_MIRROR=
ARG DMLAB_BUILD_JOBS=2
COPY requirements.txt /opt/docker/
COPY docker/dmlab_recipe /opt/dmlab_recipe
COPY docker/build_dmlab.sh /opt/docker/
# Empty unless the build uses a mirror (docker/sources/README.md).
COPY docker/sources /opt/dmlab_sources
RUN bash /opt/docker/build_dmlab.sh /opt/dmlab_wheel

# ---------------------------------------------------------------------------------------------------
# The project, without the sources of the build (a mirror in docker/sources/ would add 120 MB).
FROM system AS project
COPY . /opt/impala
RUN find /opt/impala/docker/sources -mindepth 1 ! -name README.md -delete

# ---------------------------------------------------------------------------------------------------
# The image: the project's virtual environment, made by `make install` as outside Docker, with
# DeepMind Lab's wheel in it, the stimuli, and the test suite passed.
FROM system AS impala
WORKDIR /opt/impala
# The other stages' results first: a builder that builds stages when they are asked for (buildah,
# podman) then fails at once on stimuli or sources it cannot get, as a builder in file order does.
COPY --from=stimuli /opt/dmlab_datasets /opt/dmlab_datasets
ENV DMLAB_DATASET_PATH=/opt/dmlab_datasets/brady_konkle_oliva2008
# The wheel stays in the image: `podman cp` takes it to a host's `make install DMLAB_WHEEL=...`.
COPY --from=dmlab /opt/dmlab_wheel /opt/dmlab_wheel
COPY requirements.txt Makefile ./
ARG TENSORFLOW_EXTRA=
RUN make install TENSORFLOW_EXTRA="${TENSORFLOW_EXTRA}" \
    DMLAB_WHEEL=/opt/dmlab_wheel/deepmind_lab-1.0-py3-none-any.whl
COPY --from=project /opt/impala /opt/impala
ENV PATH=/opt/impala/.venv/bin:${PATH}
# The whole suite, DeepMind Lab's own tests included (-rsp lists what passed and why any skipped).
RUN PYTEST_ADDOPTS=-rsp make test

# A short training on a DeepMind Lab level, then test mode on it; LOGDIR (a volume) and FRAMES change it.
CMD ["bash", "docker/demo.sh"]
