#!/usr/bin/env bash
# Quantized serving speed: medqa f32 / int8 / int4 against llama.cpp F32 / Q8_0 /
# Q4_0 on the same random Qwen2.5-0.5B-shaped weights (medqa's own GGUF export),
# 2 threads, runs interleaved (medqa, llama.cpp, medqa, ...) for ROUNDS rounds:
#   decode   greedy tokens/s for 128 new tokens after a 128-token prompt
#   prefill  tokens/s of a 512-token prompt (logits of its last token)
#   RSS      peak resident memory of `trainer generate` (/usr/bin/time -v)
# It prints every measurement, then the best of the rounds and the ratios.
#
# llama.cpp: node-llama-cpp@3.22.1 from npm (its prebuilt llama.cpp v0.5.0
# libraries; ggml picks the CPU variant for this machine at load, e.g. zen4
# with AVX-512 VNNI), driven by llamacpp.mjs beside this script.
#
#   trainer/quant/bench/bench.sh        (`make bench` runs it)
#   THREADS=2 ROUNDS=2 WORK=/tmp/qbench trainer/quant/bench/bench.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
here=$root/trainer/quant/bench
cd "$root"
threads=${THREADS:-2}
rounds=${ROUNDS:-2}
work=${WORK:-$root/.cache/qbench}
cache=$root/.cache/llamacpp
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=$threads
mkdir -p "$work"

if [ ! -d "$cache/node_modules/node-llama-cpp" ]; then
	echo "== installing node-llama-cpp@3.22.1 into $cache"
	mkdir -p "$cache"
	(cd "$cache" && npm init -y >/dev/null && npm install --no-audit --no-fund node-llama-cpp@3.22.1 >/dev/null 2>&1)
fi
cp "$here/llamacpp.mjs" "$cache/llamacpp.mjs"

echo "== build"
go build -o "$work/trainer" ./trainer
go build -o "$work/randmodel" ./trainer/quant/bench/randmodel
T=$work/trainer
if [ ! -f "$work/f32/model.safetensors" ]; then
	echo "== random Qwen2.5-0.5B-shaped model (f32) and its int8, int4 and GGUF versions"
	rm -rf "$work/f32" "$work/int8" "$work/int4"
	"$work/randmodel" --out "$work/f32"
fi
[ -f "$work/int8/config.json" ] || "$T" quantize --model "$work/f32" --out "$work/int8" --bits 8 >/dev/null
[ -f "$work/int4/config.json" ] || "$T" quantize --model "$work/f32" --out "$work/int4" --bits 4 >/dev/null
for t in f32 q8_0 q4_0; do
	[ -f "$work/m.$t.gguf" ] || "$T" export --model "$work/f32" --out "$work/m.$t.gguf" --type $t >/dev/null 2>&1
done

# The prompts: ids 7919·i+13 mod the vocabulary (llamacpp.mjs uses the same).
ids() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", (i ? "," : ""), (7919 * i + 13) % 151936 }'; }
p128=$(ids 128)
p512=$(ids 512)

# medqa DIR → "decode prefill rss_kb"
medqa() {
	local dir=$1 log=$work/gen.log
	/usr/bin/time -v "$T" generate -v --model "$dir" --ids "$p128" --max-new-tokens 129 --threads "$threads" >/dev/null 2>"$log"
	local dec rss
	dec=$(sed -n 's/.*decode \([0-9.]*\) tok\/s.*/\1/p' "$log")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$log")
	"$T" generate -v --model "$dir" --ids "$p512" --max-new-tokens 1 --threads "$threads" >/dev/null 2>"$log"
	local pre
	pre=$(sed -n 's/.*prefill \([0-9.]*\)s for \([0-9]*\) tokens.*/\1 \2/p' "$log" | awk '{ printf "%.2f", $2 / $1 }')
	echo "$dec $pre $rss"
}

# llama FILE → "decode prefill"
llama() {
	node "$cache/llamacpp.mjs" "$1" "$threads" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.decode_tok_s.toFixed(2)+" "+r.prefill_tok_s.toFixed(2))})'
}

results=$work/results.txt
: >"$results"
echo "== runs ($threads threads; load average $(cut -d' ' -f1-3 /proc/loadavg))"
for r in $(seq 1 "$rounds"); do
	for pair in "f32 f32" "int8 q8_0" "int4 q4_0"; do
		set -- $pair
		m=$(medqa "$work/$1")
		l=$(llama "$work/m.$2.gguf")
		echo "round $r  medqa $1: decode/prefill/rss_kb $m   llama.cpp $2: decode/prefill $l"
		echo "$1 $2 $m $l" >>"$results"
	done
done

echo
echo "== best of $rounds rounds (tok/s; ratio = medqa / llama.cpp; goals: ratio >= 1.0, int8 >= 1.8x and int4 >= 2x medqa f32 decode, RSS <= 2.6/1.0/0.8 GB)"
awk '
{ k = $1; md[k] = ($3 > md[k]) ? $3 : md[k]; mp[k] = ($4 > mp[k]) ? $4 : mp[k]; rss[k] = ($5 > rss[k]) ? $5 : rss[k];
  ld[k] = ($6 > ld[k]) ? $6 : ld[k]; lp[k] = ($7 > lp[k]) ? $7 : lp[k]; peer[k] = $2; if (!(k in seen)) { order[n++] = k; seen[k] = 1 } }
END {
  printf "%-6s %-6s %10s %10s %7s   %10s %10s %7s   %8s  %s\n", "medqa", "llama", "decode", "llama", "ratio", "prefill", "llama", "ratio", "RSS GB", "decode vs medqa f32"
  for (i = 0; i < n; i++) { k = order[i]
    printf "%-6s %-6s %10.2f %10.2f %6.2fx   %10.2f %10.2f %6.2fx   %8.2f  %.2fx\n", k, peer[k], md[k], ld[k], md[k] / ld[k], mp[k], lp[k], mp[k] / lp[k], rss[k] / 1048576, md[k] / md["f32"] }
}' "$results"
