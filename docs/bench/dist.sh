#!/usr/bin/env bash
# Data-parallel scaling on this machine (docs/distributed.md): the same full-training run as
# train_tiny.sh (2-layer, 64-wide Qwen2 with Qwen2.5's vocabulary, global batch 8 x 128 tokens,
# shipped MedQuAD splits) with 1 process and with `--nproc-per-node 2`, one libtorch thread per
# process, Gloo on loopback. Prints each run's training tokens/s from step 1 to the last step
# (from the step events: setup, the first step's warm-up, the final evaluation and saving are
# left out) and the scaling efficiency, tokens/s(2) / (2 x tokens/s(1)). STEPS (default 30) sets
# the length; STEPS=3 is a smoke run. Run through docs/bench/record.sh (make bench).
set -euo pipefail
source "$(dirname "$0")/trainer_env.sh" # $work/trainer, $work/splits
steps=${STEPS:-30}
cat >"$work/tiny-config.json" <<'JSON'
{"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
 "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 1024,
 "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": true, "hidden_act": "silu",
 "eos_token_id": 151645}
JSON
# A step event's tokens_per_s is tokens so far / seconds so far (elapsed_s): their product is the
# tokens so far, so the rate between two step events is a difference quotient.
tps() {
	python3 - "$1/events.jsonl" <<'PY'
import json, sys
steps = [e for e in map(json.loads, open(sys.argv[1])) if e["type"] == "step"]
a, b = steps[0], steps[-1]
print(f'{(b["tokens_per_s"] * b["elapsed_s"] - a["tokens_per_s"] * a["elapsed_s"]) / (b["elapsed_s"] - a["elapsed_s"]):.1f}')
PY
}
for n in 1 2; do
	"$work/trainer" train --full --init-config "$work/tiny-config.json" --data "$work/splits" --out "$work/p$n" \
		--max-steps "$steps" --batch-size 8 --max-length 128 --lr 3e-3 --warmup-steps 4 --eval-every 0 --eval-samples 64 \
		--save-every 0 --log-every 1 --threads 1 --nproc-per-node "$n" 2>/dev/null | grep '"type":"done"'
	echo "processes $n: $(tps "$work/p$n") tokens/s"
done
python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f"scaling efficiency with 2 processes: {b / (2 * a):.2f} (speed-up {b / a:.2f}x)")' \
	"$(tps "$work/p1")" "$(tps "$work/p2")"
