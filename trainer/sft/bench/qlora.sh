#!/usr/bin/env bash
# QLoRA memory and speed: one LoRA training step (T=512, batch 1, rank 16 on every linear
# layer, all 511 next-token targets learned, f32 on the CPU) as `trainer train` runs it over
# the same random Qwen2.5-0.5B-shaped weights stored three ways: float32, int8 and int4
# (group 32). For each base it reports the peak RSS of the whole `trainer train` process
# (/usr/bin/time -v: loading, the steps, the final validation, saving) and the step time
# (the fastest of the steps after the first, from the step events' elapsed_s), then both
# against the f32 base. Each base runs twice: as is, and with --gradient-checkpointing (the
# decoder layers recomputed in the backward, as PEFT's QLoRA recipe does by default); each
# mode is compared with the f32 base in the same mode, and with the plain f32 run. The goals
# (docs/training.md#qlora): RSS over int4 ≤ 50 % of f32's, step time ≤ 1.3×.
#
#   trainer/sft/bench/qlora.sh          (make bench BENCH=qlora)
#   THREADS=2 STEPS=5 WORK=.cache/qlora SHAPE=CONFIG.json trainer/sft/bench/qlora.sh
#
# SHAPE, a config.json, replaces the Qwen2.5-0.5B shape (a smoke run on a tiny model); the
# models are cached in WORK per shape.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
threads=${THREADS:-2}
steps=${STEPS:-5}
shape=${SHAPE:-}
work=${WORK:-$root/.cache/qlora}
[ -n "$shape" ] && work=$work/$(basename "$shape" .json)
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=$threads
mkdir -p "$work"

echo "== build"
go build -o "$work/trainer" ./trainer
go build -o "$work/randmodel" ./trainer/quant/bench/randmodel
T=$work/trainer
if [ ! -f "$work/f32/model.safetensors" ]; then
	echo "== random model (f32) and its int8 and int4 versions"
	rm -rf "$work/f32" "$work/int8" "$work/int4"
	"$work/randmodel" --out "$work/f32" ${shape:+--config "$shape"}
fi
[ -f "$work/int8/config.json" ] || "$T" quantize --model "$work/f32" --out "$work/int8" --bits 8 >/dev/null
[ -f "$work/int4/config.json" ] || "$T" quantize --model "$work/f32" --out "$work/int4" --bits 4 --group 32 >/dev/null

# One conversation whose answer is longer than 512 tokens: truncated to exactly 512, every
# next token learned (--all-tokens), as BenchmarkLoRAStep's input.
data=$work/data
mkdir -p "$data"
answer=$(awk 'BEGIN { for (i = 0; i < 700; i++) printf "%s ", (i % 7 ? "word" i % 13 : "the patient") }')
printf '{"id":"b-0","messages":[{"role":"user","content":"Describe the case."},{"role":"assistant","content":"%s"}]}\n' "$answer" >"$data/train.jsonl"
cp "$data/train.jsonl" "$data/validation.jsonl"

# run BASE [FLAG...] → "rss_kb step_s loss1"
run() {
	local dir=$1 out=$work/run-$(basename "$1") log=$work/train-$(basename "$1").log
	shift
	rm -rf "$out"
	/usr/bin/time -v "$T" train --model "$dir" --data "$data" --out "$out" --template base --max-steps "$steps" \
		--batch-size 1 --max-length 512 --all-tokens --lora-r 16 --lora-alpha 32 --lora-dropout 0 \
		--target-modules all-linear --lr 1e-4 --warmup-steps 0 --max-grad-norm 0 --eval-every 0 --save-every 0 \
		--threads "$threads" --seed 0 "$@" >"$out.events" 2>"$log"
	local rss step loss
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$log")
	# Step times from elapsed_s; the first step (warm-up) is left out.
	step=$(grep '"type":"step"' "$out.events" | sed -n 's/.*"elapsed_s":\([0-9.e+-]*\).*/\1/p' |
		awk 'NR > 1 { d = $1 - prev; if (best == "" || d < best) best = d } { prev = $1 } END { printf "%.3f", best }')
	loss=$(grep -m1 '"type":"step"' "$out.events" | sed -n 's/.*"loss":\([0-9.e+-]*\).*/\1/p')
	echo "$rss $step $loss"
}

echo "== one LoRA step, T=512, batch 1, rank 16, all linear ($threads threads, $steps steps; load average $(cut -d' ' -f1-3 /proc/loadavg))"
declare -A R S
modes=(plain checkpointed)
for mode in "${modes[@]}"; do
	flag=()
	[ "$mode" = checkpointed ] && flag=(--gradient-checkpointing)
	for base in f32 int8 int4; do
		set -- $(run "$work/$base" "${flag[@]}")
		R[$base.$mode]=$1 S[$base.$mode]=$2
		weights=$(du -b "$work/$base"/model*.safetensors | awk '{ s += $1 } END { printf "%.0f", s / 1048576 }')
		echo "$base ($mode): weights ${weights} MiB, peak RSS $1 kB, step $2 s, first loss $3"
	done
done
echo
echo "| base | peak RSS | of f32, same mode | of f32 plain | step | vs f32, same mode | vs f32 plain |"
echo "|---|---|---|---|---|---|---|"
for mode in "${modes[@]}"; do
	for base in f32 int8 int4; do
		k=$base.$mode
		awk -v b="$base" -v m="$mode" -v r="${R[$k]}" -v s="${S[$k]}" -v r0="${R[f32.$mode]}" -v s0="${S[f32.$mode]}" \
			-v rp="${R[f32.plain]}" -v sp="${S[f32.plain]}" \
			'BEGIN { printf "| %s%s | %.2f GB | %.0f %% | %.0f %% | %.2f s | %.2f× | %.2f× |\n", b, (m == "plain" ? "" : " + checkpointing"),
				r * 1024 / 1e9, 100 * r / r0, 100 * r / rp, s, s / s0, s / sp }'
	done
done
