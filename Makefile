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

LOGDIR ?= /tmp/agent/pong
# IMPALA on Atari Pong with the recipe that learns on a 2-core machine (README, "Learning": the
# paper's Atari settings but for centred frames, unroll 10, batch 8, learning rate 0.002 and RMSProp
# epsilon 0.001), in the actor layout it was measured with (benchmarks/pong_learning.py). The paper's
# exact settings: experiment.py --level_name=atari/pong (its defaults for atari/*).
train: $(INSTALLED)
	@echo "make train: IMPALA on Atari Pong, the recipe that reaches +18 within 12M frames here (4 of 6 runs, 15-20 min on 2 cores); watch $(LOGDIR)/learning_curve.png or 'tensorboard --logdir $(LOGDIR)'; Ctrl-C stops, the same command resumes."
	@$(BIN)/python experiment.py --level_name=atari/pong --center_frames --unroll_length=10 \
	    --batch_size=8 --learning_rate=0.002 --epsilon=0.001 --num_actors=64 --actor_threads=8 \
	    --envs_per_process=8 --logdir=$(LOGDIR)

test: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 tests

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
