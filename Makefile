# medqa — every entry point. `make run` and `make test` install what they need (idempotently) first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
GO ?= go
# libgomp reads this once at load; passive waiting gave 1.5–2x on this 2-core machine.
export OMP_WAIT_POLICY ?= passive

# Debian packages. libopenblas0 matters: without it Debian's libtorch runs on the reference BLAS (~35x slower).
# libgloo-dev: the Gloo headers, without which the shim has no CPU backend for distributed training.
APT_RUN  := libtorch-dev libopenblas0 libgloo-dev
APT_TEST := $(APT_RUN) chromium nodejs python3-torch
APT_BENCH := $(APT_RUN) python3-torch python3-nltk nodejs chromium curl

# The libtorch shim (trainer/torch/shim) is a shared library that the Go binaries load at run time, so Go
# never compiles or links against libtorch. It is rebuilt when its sources change, against Debian's
# libtorch, or against LIBTORCH=/path/to/libtorch (e.g. a pip torch's folder, holding include/ and lib/).
SHIM := bin/libmedqa_torch.so
SHIM_SRC := $(wildcard trainer/torch/shim/*.cc trainer/torch/shim/*.h trainer/torch/shim/*.def) trainer/torch/shim/build.sh
$(SHIM): $(SHIM_SRC) bin/.shim-libtorch
	trainer/torch/shim/build.sh -o $@ --torch $(or $(LIBTORCH),system)
# Rewritten only when LIBTORCH changes, so that switching libtorch rebuilds the shim.
bin/.shim-libtorch: FORCE
	@mkdir -p bin && echo '$(LIBTORCH)' | cmp -s - $@ || echo '$(LIBTORCH)' > $@
FORCE:

# apt_install installs the listed Debian packages that are missing, and nothing else.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

.PHONY: help deps-run deps-test deps-bench run test fuzz soak bench data templ wasm worker gpu-bundle gpu-bundle-check trainer shim screenshots default-model diagram
help:
	@echo "make run    install what is missing, then run medqa"
	@echo "make test   install what is missing, then run every test"
	@echo "make fuzz   run every fuzz target FUZZTIME (30s) each"
	@echo "make soak   100 chat streams from 10 clients for 60 s on the default model (prints its figures)"
	@echo "make bench  run the benchmarks (with their reference peers) into docs/bench/raw/; BENCH=\"name ...\" picks some"
	@echo "make gpu-bundle  build/gpu-bundle/: binaries + run.sh that checks medqa on a GPU machine without Go"
	@echo "make shim   the libtorch shim bin/libmedqa_torch.so (LIBTORCH=/path builds it against another libtorch)"
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
# start only, the generated admin password. Runs started from the admin page use bin/trainer; the
# form's default run trains on data/splits, made from the shipped MedQuAD file when missing.
run: deps-run wasm trainer data/splits
	$(GO) run ./backend --addr $(ADDR) --data $(DATA)

trainer: shim
	$(GO) build -o bin/trainer ./trainer

shim: deps-run $(SHIM)

# Refresh the committed screenshots (docs/web.md) from the browser tests.
screenshots: wasm shim
	MEDQA_ARTIFACTS=$(CURDIR)/web/screenshots $(GO) test -count=1 -tags e2e ./web -run Browser
	MEDQA_ARTIFACTS=$(CURDIR)/web/screenshots $(GO) test -count=1 -tags e2e ./backend -run 'E2E|RealTrainingPipeline'

# The data pipeline on the shipped MedQuAD file, with its statistics.

data:
	$(GO) run ./trainer data --input files/medquad_qa.csv.gz --out data/splits

# Only when missing (make run): `make data` rebuilds it.
data/splits:
	$(GO) run ./trainer data --input files/medquad_qa.csv.gz --out data/splits

# Every test: the unit tests and the end-to-end ones behind the e2e build tag (headless Chromium
# against the pages and the real server, wrangler dev, the real trainer pipeline), then the GPU bundle
# run on this CPU. A plain `go test ./...` runs only the unit tests.
test: deps-test wasm shim
	$(GO) vet -tags e2e ./...
	$(GO) test -count=1 -tags e2e -timeout 25m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=5s
	$(MAKE) --no-print-directory gpu-bundle-check

# Fuzz targets over everything that parses outside input (package:Target); Go fuzzes one target
# per run. `make test` gives each 5 s, `make fuzz` 30 s (FUZZTIME=2m make fuzz for longer).
# Inputs that fail are kept in the package's testdata/fuzz/ and rerun by every plain go test.
FUZZ_TARGETS := wasm/tokenizer:FuzzRoundTrip wasm/tokenizer:FuzzParse wasm/tokenizer:FuzzParseBinary \
	wasm/chat:FuzzParse trainer/safetensors:FuzzParse trainer/data:FuzzLoadCSV trainer/data:FuzzLoadPubMedQA \
	backend/server:FuzzChatCompletions
# The soak test (backend/soak_test.go, build tag soak): 100 chat streams from 10 loopback clients for
# 60 s against a real server process on the default model; it prints its figures.
soak: shim
	$(GO) test -count=1 -tags soak -run '^TestSoak$$' -v -timeout 10m ./backend

FUZZTIME ?= 30s
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} $${t##*:} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*}; \
	done

# Every benchmark docs/benchmarks.md quotes, each through docs/bench/record.sh, which keeps its raw
# output with date, commit, machine and load in docs/bench/raw/NAME.txt (docs/bench/all.sh lists
# them; BENCH="tokenizer-go metrics-go" runs some). Peers: PyTorch eager (qwen2, LoRA step),
# transformers.js (tokenizer), NLTK (stemmer). Run it on an idle machine.
BENCH ?=
bench: deps-bench wasm shim
	docs/bench/all.sh $(BENCH)

# build/gpu-bundle/ (at most 60 MiB, checked): the Go binaries (trainer, whose gpucheck verb runs the
# checks, and backend), the shim's sources and build script, the reference scripts and tiny-qwen2.
# Its run.sh checks medqa on a GPU machine that has PyTorch and a C++ compiler but no Go (docs/gpu.md).
gpu-bundle:
	trainer/gpucheck/bundle.sh build/gpu-bundle

# The bundle on this machine's CPU, from a copy outside the repository (part of make test).
gpu-bundle-check: deps-test gpu-bundle
	trainer/gpucheck/selftest.sh build/gpu-bundle

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
default-model: deps-run shim
	trainer/defaultmodel/recipe.sh

# The architecture picture of README.md and docs/architecture.md, from its graphviz source.
diagram:
	$(call apt_install,graphviz)
	dot -Tsvg docs/img/architecture.dot -o docs/img/architecture.svg
