# The README's two commands. Both install into .venv from requirements.txt when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Fewer TensorFlow start-up lines on the console.
export TF_CPP_MIN_LOG_LEVEL ?= 2

# DeepMind Lab from a wheel, for whoever has one (../shared/dmlab's, or the Docker image's build):
#   make install DMLAB_WHEEL=path/to/deepmind_lab-1.0-py3-none-any.whl   (also for make test, make train)
DMLAB_WHEEL ?=
# The Debian/Ubuntu packages DeepMind Lab's headless build needs at run time: the libraries of its
# software renderer and map compiler (q3map2), as `objdump -p` lists them, and zip, with which its
# compile_map.sh packs each generated level. The image's minimal base lacked glib, then zip: no
# generated level compiled.
DMLAB_PACKAGES := libosmesa6 liblua5.1-0 libsdl2-2.0-0 libjpeg62-turbo libpng16-16 zlib1g libglib2.0-0 \
    libxml2 zip
# TensorFlow's extra, for a GPU learner: make install TENSORFLOW_EXTRA=and-cuda (the Dockerfile's
# build argument of the same name). The version stays requirements.txt's.
TENSORFLOW_EXTRA ?=
TENSORFLOW := $(shell grep -E '^tensorflow==' requirements.txt)

.PHONY: install dmlab dmlab-packages train watch test image clean

install: $(INSTALLED) $(if $(DMLAB_WHEEL),dmlab)

$(INSTALLED): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt \
	    $(if $(TENSORFLOW_EXTRA),"$(subst tensorflow==,tensorflow[$(TENSORFLOW_EXTRA)]==,$(TENSORFLOW))")
	@touch $@

# --no-deps: every package .venv holds comes from requirements.txt.
dmlab: $(INSTALLED) dmlab-packages
	@test -f "$(DMLAB_WHEEL)" || { echo "DMLAB_WHEEL=$(DMLAB_WHEEL): no such file" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall "$(DMLAB_WHEEL)"
	@cd / && $(CURDIR)/$(BIN)/python -c 'import deepmind_lab' \
	    && echo "DeepMind Lab installed from $(DMLAB_WHEEL)."

# Installs what is missing when run as root; otherwise names it.
dmlab-packages:
	@missing=$$(for p in $(DMLAB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends $$missing; \
	else \
	    echo "DeepMind Lab needs these Debian/Ubuntu packages: $$(echo $$missing). Install them" \
	        "as root (apt-get install $$(echo $$missing)), then run make again." >&2; exit 1; \
	fi

LOGDIR ?= /tmp/agent/pong
# IMPALA on Atari Pong with the recipe that learns on a 2-core machine (docs/pong_learning.md: the
# paper's Atari settings but for centred frames, unroll 10, batch 8, learning rate 0.002 falling
# linearly to 0 over 15M frames, RMSProp epsilon 0.001, entropy cost 0.005, half of each batch
# replayed and training games started with 1 to 30 no-ops), in the actor layout it was measured
# with (benchmarks/pong_learning.py). The paper's exact settings: experiment.py
# --level_name=atari/pong (its defaults for atari/*).
train: install
	@echo "make train: IMPALA on Atari Pong for 15M frames, the recipe that reaches +18 within 12M frames here (in 10 of 10 runs, 22-49 min to +18 on 2 cores, 50-80 min in all; its replay buffer takes up to 2.9 GiB); watch $(LOGDIR)/learning_curve.png or 'tensorboard --logdir $(LOGDIR)'; Ctrl-C stops, the same command resumes."
	@$(BIN)/python experiment.py --level_name=atari/pong --center_frames --unroll_length=10 \
	    --batch_size=8 --learning_rate=0.002 --epsilon=0.001 --entropy_cost=0.005 \
	    --replay_proportion=0.5 --train_noop_max=30 --total_environment_frames=15000000 \
	    --num_actors=64 --actor_threads=8 --envs_per_process=8 \
	    --logdir=$(LOGDIR)

# make train's latest checkpoint tested on a few episodes, recorded as video (docs/training.md,
# "Watching the agent"). It may run while make train still trains: test mode reads the checkpoint
# and config.json, and writes only evaluation.json, evaluation.png and videos/, which training does
# not read; it installs nothing and takes no lock.
WATCH_EPISODES ?= 3
watch:
	@test -x $(BIN)/python || { echo "make watch: no $(VENV) here yet: make train first." >&2; exit 1; }
	@$(BIN)/python experiment.py --mode=test --test_num_episodes=$(WATCH_EPISODES) \
	    --video_episodes=$(WATCH_EPISODES) --logdir=$(LOGDIR)
	@echo "make watch: the videos are in $(LOGDIR)/videos/ (<level>_<episode>.mp4, and a GIF of each one's first seconds)."

test: install
	$(BIN)/python -m pytest -n 2 tests

# The Docker image (docs/docker.md), with docker, podman or buildah, whichever this machine has:
#   make image [IMAGE=impala] [IMAGE_BUILD_ARGS='--build-arg TENSORFLOW_EXTRA=and-cuda']
IMAGE ?= impala
IMAGE_BUILD_ARGS ?=
image:
	@bash docker/build_image.sh $(IMAGE) $(IMAGE_BUILD_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
