#!/usr/bin/env bash
# all.sh [NAME...]: every benchmark whose figures docs/benchmarks.md quotes, each run through
# record.sh into docs/bench/raw/NAME.txt. `make bench` runs them all (about half an hour on an
# idle 2-core machine); `make bench BENCH="tokenizer-go metrics-go"` runs some. Run it on an
# idle machine: the header of each raw file records the load, and figures taken under load
# are not comparable.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
rec=docs/bench/record.sh
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

# Everything the benchmarks read is in the repository: the PyTorch-eager peer
# (trainer/qwen2/peer/qwen2_peer.py), the MedQuAD CSV (files/medquad_qa.csv.gz).
# Benchmarks that live in end-to-end test files pass -tags e2e (see docs/testing.md).

# name | command (run from the repository root by record.sh)
benches=(
	"tokenizer-go|go test -run ^\$ -bench . -benchtime 5x ./wasm/tokenizer"
	"tokenizer-vs-transformersjs|wasm/tokenizer/bench/bench.sh"
	"metrics-go|go test -run ^\$ -bench . -benchtime 3x ./wasm/metrics"
	"metrics-nltk-stem|/usr/bin/python3 wasm/metrics/testdata/nltk_stem_bench.py files/medquad_qa.csv.gz"
	"data-go|go test -run ^\$ -bench . -benchtime 3x ./trainer/data"
	"retrieve-go|go test -run ^\$ -bench . -benchtime 2s ./wasm/retrieve"
	"retrieve-recall|docs/bench/retrieve_recall.sh"
	"qwen2-vs-pytorch|trainer/qwen2/bench/bench.sh"
	"quant-vs-llamacpp|trainer/quant/bench/bench.sh"
	"qwen2-decode|go test -run ^\$ -bench BenchmarkDecode\$ -benchtime 3x -count 2 ./trainer/qwen2"
	"lora-step|nice go test -run ^\$ -bench LoRAStep\$ -benchtime 1x ./trainer/sft"
	"train-step|nice go test -run ^\$ -bench TrainStep -benchtime 3x ./trainer/defaultmodel"
	"qlora|trainer/sft/bench/qlora.sh"
	"train-tiny|docs/bench/train_tiny.sh"
	"dist|docs/bench/dist.sh"
	"quant-go|go test -run ^\$ -bench . ./trainer/quant"
	"gguf-go|go test -run ^\$ -bench . ./trainer/gguf"
	"eval-default|docs/bench/eval_default.sh"
	"serve-fake|go test -run ^\$ -bench Streams -benchtime 2s -count 3 ./backend/server"
	"serve-real|go test -run ^\$ -bench RealModelStreams -benchtime 3x ./backend"
	"serve-default|docs/bench/serve_default.sh"
	"soak|go test -count=1 -tags soak -run ^TestSoak\$ -v -timeout 10m ./backend"
	"wasm-ready|go test -count 1 -tags e2e -run BrowserWasmReady -v ./web"
	"sizes|docs/bench/sizes.sh"
)

known=" ${benches[*]%%|*} "
for n in "$@"; do
	[[ $known == *" $n "* ]] || { echo "bench: unknown benchmark \"$n\" (known:$known)" >&2; exit 2; }
done
want=" $* "
failed=()
set -f # the commands hold patterns such as ^$ that must reach go test as they are
for b in "${benches[@]}"; do
	name=${b%%|*}
	cmd=${b#*|}
	if [ $# -gt 0 ] && [[ $want != *" $name "* ]]; then continue; fi
	echo "== $name: $cmd"
	# Word splitting of cmd is intended: the commands above hold no quoted spaces.
	# shellcheck disable=SC2086
	$rec "$name" -- $cmd || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench: failed: ${failed[*]} (see docs/bench/raw/NAME.failed.txt)" >&2
	exit 1
fi
