# The README's two commands. Both install into .venv from requirements.txt when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Fewer TensorFlow start-up lines on the console.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install train test clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

# IMPALA on Atari Pong with the paper's Atari hyperparameters (experiment.py's defaults for atari/*),
# with the actor layout that came closest to its ideal rate on a 2-core machine
# (benchmarks/throughput.py).
train: $(INSTALLED)
	$(BIN)/python experiment.py --level_name=atari/pong --num_actors=128 --actor_threads=4 \
	    --envs_per_process=32 --logdir=$(or $(LOGDIR),/tmp/agent/pong)

test: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 tests

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
