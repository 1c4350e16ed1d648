#!/usr/bin/env bash
# Generation speed of `trainer eval` with the shipped default model: greedy answers (at most
# 256 new tokens) to the first 100 test questions, at 8 and at 16 prompts per batch, f32 on
# the CPU. Prints each run's summary line and report.json's generate_seconds and
# generated_tokens_per_s. Run through docs/bench/record.sh (make bench).
set -euo pipefail
source "$(dirname "$0")/trainer_env.sh" # $work/trainer, $work/splits
for batch in 8 16; do
	"$work/trainer" eval --model assets/model --data "$work/splits" --split test --limit 100 \
		--max-new-tokens 256 --batch-size "$batch" --no-perplexity --out "$work/b$batch" 2>&1 | grep -v -e '^report:' -e ' generated [0-9]*/[0-9]*$'
	python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["models"][0]
print("batch %s: generate_seconds %.1f, generated_tokens_per_s %.1f" % (sys.argv[2], m["generate_seconds"], m["generated_tokens_per_s"]))
' "$work/b$batch/report.json" "$batch"
done
