# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# The venv is reused: a second run only reinstalls when pyproject.toml, setup.py or csrc/ changed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Pinned: the CPU build lies on this machine's disk; an unpinned torch can pull a CUDA build of several GB.
TORCH_VERSION ?= 2.13.0
STAMP := $(VENV)/.ganzoo-installed
EXT_SOURCES := $(wildcard csrc/*.cpp csrc/*.h csrc/cuda/*.cu csrc/cuda/*.cuh csrc/cuda/*.cpp)
PIP := $(BIN)/python -m pip
PYTEST_ARGS ?=

.PHONY: install demo test test-all clean help

help:
	@echo "make demo      set up .venv (torch $(TORCH_VERSION) CPU, ganzoo + compiled extension) and run a short demo"
	@echo "make test      the same set-up, then the test suite (what CI runs)"
	@echo "make test-all  the test suite including tests marked slow"
	@echo "make clean     remove build outputs (keeps .venv)"

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml setup.py $(EXT_SOURCES)
	$(PIP) install -q --upgrade pip setuptools wheel ninja
	$(PIP) install -q torch==$(TORCH_VERSION)
	# --no-build-isolation: build the extension against the torch installed above, not a fresh download
	$(PIP) install -q --no-build-isolation -e ".[dev]"
	touch $@

demo: $(STAMP)
	$(BIN)/ganzoo list
	# wgan_gp on the embedded ring (2,000 steps, ~1.5 min on 2 cores); each demo gets its own runs/wgan_gp-ring[-N]
	$(BIN)/ganzoo train --arch wgan_gp

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf build ganzoo/_C*.so *.egg-info .pytest_cache
