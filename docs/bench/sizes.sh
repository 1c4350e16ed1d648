#!/usr/bin/env bash
# Sizes of what browsers and Cloudflare download, built the way `make wasm` and `make worker`
# build them: the browser module, the smallest module using only the tokenizer and the chat
# template (wasm/tokenizer/bench/wasmsize), an empty Go wasm module for scale, and the Workers
# front. Bytes raw and gzip -9. Run through docs/bench/record.sh (make bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

size() { printf '%-44s %10d bytes  %10d gzipped\n' "$1" "$(stat -c %s "$2")" "$(gzip -9 -n -c "$2" | wc -c)"; }
build() { GOOS=js GOARCH=wasm go build -trimpath "$@"; }

build -ldflags=-s -o "$work/medqa.wasm" ./wasm/cmd/medqa-wasm
size "browser module (make wasm)" "$work/medqa.wasm"
build -ldflags='-s -w' -o "$work/wasmsize.wasm" ./wasm/tokenizer/bench/wasmsize
size "tokenizer + chat template only" "$work/wasmsize.wasm"
printf 'package main\n\nfunc main() {}\n' >"$work/empty.go"
build -ldflags='-s -w' -o "$work/empty.wasm" "$work/empty.go"
size "empty Go module" "$work/empty.wasm"
(cd web/worker && GOOS=js GOARCH=wasm go build -trimpath -ldflags=-s -o "$work/app.wasm" .)
size "Workers front (make worker)" "$work/app.wasm"
for f in tokenizer.bin.gz tokenizer.json.gz; do
	printf '%-44s %10d bytes\n' "assets/tokenizer/qwen2.5/$f" "$(stat -c %s "assets/tokenizer/qwen2.5/$f")"
done
