#!/usr/bin/env bash
# The training speed of docs/training.md's worked example: 40 full-training steps of a
# 2-layer, 64-wide Qwen2 with Qwen2.5's whole vocabulary (the LM head dominates), batch 8 x
# 128 tokens, on the shipped MedQuAD splits. Prints the trainer's events and run.json's metrics
# (tokens, elapsed_s, tokens_per_s). Run through docs/bench/record.sh (make bench).
set -euo pipefail
source "$(dirname "$0")/trainer_env.sh" # $work/trainer, $work/splits
cat >"$work/tiny-config.json" <<'JSON'
{"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
 "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 1024,
 "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": true, "hidden_act": "silu",
 "eos_token_id": 151645}
JSON
"$work/trainer" train --full --init-config "$work/tiny-config.json" --data "$work/splits" --out "$work/tiny" \
	--max-steps 40 --batch-size 8 --max-length 128 --lr 3e-3 --warmup-steps 4 \
	--eval-every 20 --eval-samples 64 --save-every 20 2>/dev/null
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print("run.json metrics:", json.dumps(r["metrics"]))' "$work/tiny/run.json"
