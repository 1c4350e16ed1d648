# medqa — every entry point. `make run` and `make test` install what they need (idempotently) first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
GO ?= go
# libgomp reads this once at load; passive waiting gave 1.5–2x on this 2-core machine.
export OMP_WAIT_POLICY ?= passive

# Debian packages. libopenblas0 matters: without it Debian's libtorch runs on the reference BLAS (~35x slower).
APT_RUN  := libtorch-dev libopenblas0
APT_TEST := $(APT_RUN) chromium nodejs python3-torch
APT_BENCH := $(APT_RUN) python3-torch python3-nltk nodejs

# LIBTORCH=/path/to/libtorch (e.g. a PyTorch install's torch/ folder, holding include/ and lib/) builds
# against that libtorch instead of Debian's; a CUDA build links libtorch_cuda so `cuda` devices work.
ifneq ($(LIBTORCH),)
export CGO_CXXFLAGS := -I$(LIBTORCH)/include -I$(LIBTORCH)/include/torch/csrc/api/include
export CGO_LDFLAGS := -L$(LIBTORCH)/lib -Wl,-rpath,$(LIBTORCH)/lib -Wl,--no-as-needed $(if $(wildcard $(LIBTORCH)/lib/libtorch_cuda.so),-ltorch_cuda) -Wl,--as-needed
export LD_LIBRARY_PATH := $(LIBTORCH)/lib:$(LD_LIBRARY_PATH)
endif

# apt_install installs the listed Debian packages that are missing, and nothing else.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

.PHONY: help deps-run deps-test deps-bench run test bench data templ wasm worker gpu-check trainer screenshots default-model
help:
	@echo "make run    install what is missing, then run medqa"
	@echo "make test   install what is missing, then run every test"
	@echo "make bench  run the benchmarks (with their reference peers)"
	@echo "make gpu-check LIBTORCH=/path  parity tests + speed on an NVIDIA GPU (bf16)"
	@echo "make default-model  retrain the embedded default model into assets/model (~1-2 h on 2 cores; resumable)"

deps-run:
	$(call apt_install,$(APT_RUN))
	@$(GO) mod download

deps-test:
	$(call apt_install,$(APT_TEST))
	@$(GO) mod download

deps-bench:
	$(call apt_install,$(APT_BENCH))
	@$(GO) mod download

# ADDR and DATA can be overridden: make run ADDR=0.0.0.0:8080 DATA=/var/lib/medqa
ADDR ?= 127.0.0.1:8080
DATA ?= data

# Serves assets/model (the default model) at http://$(ADDR); prints the address and, on the first
# start only, the generated admin password. Runs started from the admin page use bin/trainer.
run: deps-run wasm trainer
	$(GO) run ./backend --addr $(ADDR) --data $(DATA)

trainer:
	$(GO) build -o bin/trainer ./trainer

# Refresh the committed screenshots (README) from the browser tests.
screenshots: wasm
	MEDQA_ARTIFACTS=$(CURDIR)/web/screenshots $(GO) test -count=1 ./web -run Browser
	MEDQA_ARTIFACTS=$(CURDIR)/web/screenshots $(GO) test -count=1 ./backend -run 'E2E|RealTrainingPipeline'

# The data pipeline on the shipped MedQuAD file, with its statistics.

data:
	$(GO) run ./trainer data --input files/medquad_qa.csv.gz --out data/splits

test: deps-test wasm
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...

# The Go benchmarks of every package, then the qwen2 decode/prefill benchmark beside the PyTorch-eager
# peer (../shared/bench/torch_reference.py) with the ratio. bench.sh runs trainer/qwen2's own benchmarks:
# each builds a 2 GB Qwen2.5-0.5B-shaped model, so they are left out of the first line.
# trainer/quant/bench/bench.sh: medqa f32/int8/int4 against llama.cpp F32/Q8_0/Q4_0 (node-llama-cpp) on
# the same random weights, decode, prefill and peak RSS (models cached in .cache/qbench).
bench: deps-bench
	$(GO) test -run '^$$' -bench . -benchtime 1x $$($(GO) list ./... | grep -v /trainer/qwen2$$)
	trainer/qwen2/bench/bench.sh
	trainer/quant/bench/bench.sh

# By hand, on a machine with an NVIDIA GPU: `make gpu-check LIBTORCH=/path/to/cuda/libtorch` (cxx11 ABI).
# Runs the qwen2 parity tests on cuda in bf16 (tolerance 3e-2) and prints decode/prefill tokens/s.
gpu-check:
	@[ -n "$(LIBTORCH)" ] || { echo "gpu-check: set LIBTORCH=/path/to/a CUDA libtorch (cxx11 ABI)"; exit 2; }
	trainer/qwen2/gpucheck/gpucheck.sh

TEMPL := github.com/a-h/templ/cmd/templ@v0.3.1100

# Regenerate the committed *_templ.go files (a test fails when they are stale).
templ:
	$(GO) run $(TEMPL) generate -path web

# The browser module (tokenizer, chat template, metrics) beside the toolchain's own wasm_exec.js:
# loader and module must come from the same Go. Prints the gzipped size.
wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags=-s -o assets/wasm/medqa.wasm.tmp ./wasm/cmd/medqa-wasm
	mv assets/wasm/medqa.wasm.tmp assets/wasm/medqa.wasm
	gzip -9 -n -c assets/wasm/medqa.wasm > assets/wasm/medqa.wasm.gz
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" assets/wasm/wasm_exec.js
	@echo "assets/wasm/medqa.wasm: $$(stat -c %s assets/wasm/medqa.wasm) bytes, $$(stat -c %s assets/wasm/medqa.wasm.gz) gzipped"

# npm's wrangler into web/worker/node_modules (git-ignored), pinned by package-lock.json.
web/worker/node_modules/.bin/wrangler: web/worker/package-lock.json
	cd web/worker && npm ci --no-audit --no-fund

# The Cloudflare Workers front: Go worker (syumai/workers v0.27.0, pinned in go.mod) + static assets.
# workers-assets-gen runs without @version: the version comes from go.mod.
worker: wasm web/worker/node_modules/.bin/wrangler
	cd web/worker && $(GO) run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o build
	cd web/worker && GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags=-s -o build/app.wasm .
	rm -rf web/worker/build/public && mkdir -p web/worker/build/public/static web/worker/build/public/wasm
	cp -r assets/web/. web/worker/build/public/static/
	rm -f web/worker/build/public/static/*.go
	cp assets/wasm/medqa.wasm assets/wasm/wasm_exec.js web/worker/build/public/wasm/
	@echo "web/worker/build/app.wasm: $$(stat -c %s web/worker/build/app.wasm) bytes, $$(gzip -9 -c web/worker/build/app.wasm | wc -c) gzipped"

# Train the embedded default model from scratch: splits -> trimmed tokenizer -> trainer train --full
# -> greedy eval on the test split -> int8 -> assets/model. Resumable, background-friendly:
#   nohup setsid make default-model > runs/default-model.log 2>&1 &
default-model: deps-run
	trainer/defaultmodel/recipe.sh
