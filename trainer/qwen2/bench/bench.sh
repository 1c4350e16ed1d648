#!/usr/bin/env bash
# Decode and prefill speed of medqa's Qwen2 (Qwen2.5-0.5B shape, random f32 weights,
# CPU) next to the PyTorch-eager peer (trainer/qwen2/peer/qwen2_peer.py) doing the same
# work on the same machine, and the ratio medqa / PyTorch.
#
#   trainer/qwen2/bench/bench.sh            (from anywhere; `make bench` runs it)
#   THREADS=2 trainer/qwen2/bench/bench.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
peer="$root/trainer/qwen2/peer/qwen2_peer.py"
threads=${THREADS:-$(nproc)}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
python=${PYTHON:-/usr/bin/python3}
"$python" -c 'import torch' 2>/dev/null || { echo "bench: $python cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== medqa (go test -bench, $threads threads)"
nice go test -run '^$' -bench 'BenchmarkDecode$|BenchmarkPrefill$' -benchtime 1x ./trainer/qwen2 | tee "$out/go.txt"
echo "== PyTorch eager (decode: prompt 128, 32 new; prefill: prompt 512)"
nice "$python" "$peer" decode --shape qwen2.5-0.5b --prompt 128 --new 32 --threads "$threads" | tee "$out/peer128.json"
nice "$python" "$peer" decode --shape qwen2.5-0.5b --prompt 512 --new 1 --threads "$threads" | tee "$out/peer512.json"

metric() { awk -v b="$1" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 1; i < NF; i++) if ($(i+1) == "tok/s") print $i }' "$out/go.txt"; }
peerval() { "$python" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
go_dec=$(metric BenchmarkDecode)
go_pre=$(metric BenchmarkPrefill)
pt_dec=$(peerval "$out/peer128.json" decode_tokens_per_s)
pt_pre=$(peerval "$out/peer512.json" prefill_tokens_per_s)
"$python" - "$go_dec" "$pt_dec" "$go_pre" "$pt_pre" <<'PY'
import sys
gd, pd, gp, pp = map(float, sys.argv[1:])
print(f"decode  @128: medqa {gd:7.2f} tok/s   pytorch {pd:7.2f} tok/s   ratio {gd/pd:5.2f}x   (goal >= 11 tok/s)")
print(f"prefill @512: medqa {gp:7.2f} tok/s   pytorch {pp:7.2f} tok/s   ratio {gp/pp:5.2f}x")
PY
