#!/usr/bin/env bash
# Encode throughput of medqa's Go tokenizer vs transformers.js on the same
# MedQuAD answers (5 MB by default), single thread each, same machine.
# Usage: wasm/tokenizer/bench/bench.sh [MB]   (from anywhere; needs go, node, npm)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
mb="${1:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# onnxruntime-node's install script downloads binaries; the tokenizer needs none.
if [ ! -d "$here/node_modules/@huggingface/transformers" ]; then
  (cd "$here" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

# transformers.js reads the same shipped tokenizer files as the Go side.
gunzip -c "$root/assets/tokenizer/qwen2.5/tokenizer.json.gz" > "$work/tokenizer.json"
cp "$root/assets/tokenizer/qwen2.5/tokenizer_config.json" "$work/"

go_line="$(cd "$root" && go run ./wasm/tokenizer/bench -mb "$mb" -answers-out "$work/answers.json" | grep '^RESULT')"
js_line="$(cd "$here" && node bench.mjs "$work" "$work/answers.json" | grep '^RESULT')"
echo "$go_line"
echo "$js_line"

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
ratio() {
  awk -v gc="$(field "$go_line" "cold_$1")" -v gw="$(field "$go_line" "warm_$1")" \
      -v jc="$(field "$js_line" "cold_$1")" -v jw="$(field "$js_line" "warm_$1")" -v what="$2" \
      'BEGIN { printf "ratio go/transformers.js by %s: cold %.1fx, warm %.1fx\n", what, gc / jc, gw / jw }'
}
ratio MBps "wall time"
ratio cpu_MBps "CPU time"
if [ "$(field "$go_line" checksum)/$(field "$go_line" tokens)" = "$(field "$js_line" checksum)/$(field "$js_line" tokens)" ]; then
  echo "ids: identical ($(field "$go_line" tokens) tokens)"
else
  echo "ids: DIFFERENT" >&2
  exit 1
fi
