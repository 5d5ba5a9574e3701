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
# plugins/: separately installable plugin packages, installed the way a user installs a plugin (not by path hacks)
PLUGINS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
PLUGIN_SOURCES := $(wildcard plugins/*/pyproject.toml plugins/*/*/*.py)
PYTEST_ARGS ?=

# make cuda-check: compile the CUDA kernels on a machine without a GPU, against a CUDA build of torch in its own venv.
CUDA_VENV ?= .venv-cuda
CUDA_TORCH_VERSION ?= 2.14.1
CUDA_ARCHS ?= 8.0;9.0
# nvcc on PATH may be a wrapper script (here /usr/local/bin/nvcc): torch would then guess CUDA_HOME=/usr/local, which has
# no lib64/libcudart, and the link fails. Prefer the toolkit's own folder.
CUDA_HOME ?= $(firstword $(wildcard /usr/local/cuda) $(patsubst %/bin/nvcc,%,$(shell command -v nvcc)))
CUDA_STAMP := $(CUDA_VENV)/.ganzoo-cuda-installed

.PHONY: install demo lint test test-all bench cuda-check clean help

help:
	@echo "make demo      set up .venv (torch $(TORCH_VERSION) CPU, ganzoo + compiled extension) and run a short demo"
	@echo "make test      the same set-up, then lint (ruff), types (mypy) and the test suite (what CI runs)"
	@echo "make lint      ruff over the package, tests, plugins and benchmarks; mypy over the plugin contract and train/"
	@echo "make test-all  the test suite including tests marked slow"
	@echo "make bench     the benchmark suite (fused vs eager vs torch.compile), ganzoo vs a plain eager loop, the critic-step breakdown"
	@echo "make cuda-check build the CUDA kernels against torch $(CUDA_TORCH_VERSION) (CUDA) in $(CUDA_VENV); no GPU needed"
	@echo "make clean     remove build outputs (keeps .venv)"

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml setup.py $(EXT_SOURCES) $(PLUGIN_SOURCES)
	$(PIP) install -q --upgrade pip setuptools wheel ninja
	$(PIP) install -q torch==$(TORCH_VERSION)
	# --no-build-isolation: build the extension against the torch installed above, not a fresh download
	$(PIP) install -q --no-build-isolation -e ".[dev]"
	$(PIP) install -q --no-build-isolation $(addprefix ./,$(PLUGINS))
	touch $@

demo: $(STAMP)
	$(BIN)/ganzoo list
	# wgan_gp on the embedded ring (8,000 steps, about 70 s on 2 cores); each demo gets its own runs/wgan_gp-ring[-N]
	$(BIN)/ganzoo train --arch wgan_gp

# the rule set and the files mypy checks are in pyproject.toml; both run at zero findings
lint: $(STAMP)
	$(BIN)/ruff check ganzoo tests plugins benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/ganzoo bench
	# whole training iterations, ganzoo against a plain eager loop, in alternation (benchmarks/iteration.py)
	$(BIN)/python -m benchmarks.iteration --workload ring digits --variants ganzoo ganzoo_unfused ganzoo_double_backward ganzoo_nchw ganzoo_deconv ganzoo_system_malloc peer peer_tuned_malloc
	# the image peers at 32x32 (pytorch/examples' DCGAN loop, a plain WGAN-GP conv loop), fp32 and bf16, and the FLOP floor
	$(BIN)/python -m benchmarks.iteration --workload dcgan32 wgan_gp32 --rounds 3 --variants ganzoo ganzoo_bf16 peer
	$(BIN)/python -m benchmarks.flops
	# each fused op, forward + backward, against eager, and the bce loss over batch sizes
	$(BIN)/python -m benchmarks.ops_sweep
	$(BIN)/python -m benchmarks.ops_sweep --sweep bce
	$(BIN)/python -m benchmarks.breakdown --critic mlp conv32 --variant best_eager
	$(BIN)/python -m benchmarks.breakdown --critic mlp conv32 --variant fused

$(CUDA_STAMP):
	$(PYTHON) -m venv $(CUDA_VENV)
	$(CUDA_VENV)/bin/python -m pip install -q --upgrade pip setuptools wheel ninja
	$(CUDA_VENV)/bin/python -m pip install -q torch==$(CUDA_TORCH_VERSION)
	touch $@

cuda-check: $(CUDA_STAMP)
	@test -n "$(CUDA_HOME)" -a -d "$(CUDA_HOME)/include" || { echo "cuda-check: no CUDA toolkit found; set CUDA_HOME"; exit 1; }
	rm -rf build/cuda-check
	CUDA_HOME=$(CUDA_HOME) GANZOO_CUDA=1 TORCH_CUDA_ARCH_LIST="$(CUDA_ARCHS)" MAX_JOBS=2 \
		$(CUDA_VENV)/bin/python setup.py -q build_ext --build-lib build/cuda-check/lib --build-temp build/cuda-check/tmp
	$(CUDA_VENV)/bin/python -c "import glob, torch; so = glob.glob('build/cuda-check/lib/ganzoo/_C*.so')[0]; \
		torch.ops.load_library(so); \
		ops = ['gradient_penalty', 'gradient_penalty_backward', 'critic_loss', 'critic_tail', 'leaky_pixel_norm', \
		       'leaky_pixel_norm_backward']; \
		missing = [(op, key) for op in ops for key in ('CPU', 'CUDA') \
		           if not torch._C._dispatch_has_kernel_for_dispatch_key(getattr(torch.ops.ganzoo, op).default.name(), key)]; \
		missing += [(op, key) for op, key in [(o, 'Autograd') for o in ops if not o.endswith('_backward')] \
		            + [('mlp_critic_grads', 'CompositeExplicitAutograd')] \
		            if not torch._C._dispatch_has_kernel_for_dispatch_key(getattr(torch.ops.ganzoo, op).default.name(), key)]; \
		assert not missing, missing; print('cuda-check: built and loaded', so, 'with CPU and CUDA kernels for', ', '.join(ops), \
		                                  '+ their autograd kernels + mlp_critic_grads (device-generic)')"

clean:
	rm -rf build ganzoo/_C*.so *.egg-info .pytest_cache
