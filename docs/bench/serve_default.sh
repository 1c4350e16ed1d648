#!/usr/bin/env bash
# One stream through the real server with the shipped default model: "What is glaucoma?",
# greedy, up to 200 new tokens, through POST /v1/chat/completions, three times after a
# warm-up request. Prints each response's usage and timing (ttft_ms, tokens_per_s) as the
# server measured them. Run through docs/bench/record.sh (make bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/backend" ./backend
MEDQA_ADMIN_PASSWORD=bench-only-password "$work/backend" --addr 127.0.0.1:0 --data "$work/data" 2>"$work/log" &
pid=$!
url=
for _ in $(seq 1 300); do
	url=$(sed -n 's/^medqa is serving .* at \(http:[^ ]*\)$/\1/p' "$work/log")
	[ -n "$url" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
	sleep 0.2
done
[ -n "$url" ] || { echo "serve_default: the server did not start" >&2; cat "$work/log" >&2; exit 1; }

body='{"messages":[{"role":"user","content":"What is glaucoma?"}],"max_tokens":200,"temperature":0}'
ask() { curl -sf "$url/v1/chat/completions" -H 'Content-Type: application/json' -d "$body"; }
ask >/dev/null # warm-up
for i in 1 2 3; do
	ask | python3 -c 'import json, sys; r = json.load(sys.stdin); print("run", sys.argv[1], json.dumps({"usage": r["usage"], "timing": r["timing"]}))' "$i"
done
