#!/usr/bin/env bash
# The default model's recipe (`make default-model`): MedQuAD's leak-free splits
# → a tokenizer trimmed to the training split → a Qwen2-shaped model trained
# from random weights (trainer train --full) → greedy evaluation on the test
# split → int8 quantization → assets/model/.
#
# Every stage is skipped when its output exists, and training resumes from its
# latest checkpoint, so an interrupted build (Ctrl-C, reboot) continues where
# it stopped: run the same command again. Run it in the background with
#   nohup setsid make default-model > runs/default-model.log 2>&1 &
#
# Settings (environment):
#   RUN        work folder (default runs/default-model; /runs/ is git-ignored)
#   STEPS1     stage 1: optimizer steps of 8 sequences from random weights (default 600)
#   STEPS2     stage 2: steps continuing from stage 1 with a fresh cosine cycle and
#              another data order (default 350; 0 skips it)
#   STEPS3     stage 3: the long stage, another warm restart on another data order
#              (default 5000; 0 skips it). 600+350+5000 is the shipped model.
#   MIN_COUNT  drop training-split tokens seen fewer times (default 16)
#   LIMIT      evaluate the first N test rows (default 0: all 1,636)
#   RAG_LIMIT  test rows of the int8 model's evaluation without and with retrieved
#              passages (default 0: all)
#   LORA_QTYPE demo of the LoRA pipeline on top of the model: fine-tune an adapter on
#              the rows of one question type and evaluate base vs fine-tuned side by side
#              on that type's test rows (default treatment; empty skips it)
#   LORA_STEPS the adapter's optimizer steps (default 200)
#   SHIP       1 copies the result into assets/model/ (default 1)
set -euo pipefail
cd "$(dirname "$0")/../.."

RUN=${RUN:-runs/default-model}
STEPS1=${STEPS1:-600}
STEPS2=${STEPS2:-350}
STEPS3=${STEPS3:-5000}
MIN_COUNT=${MIN_COUNT:-16}
LIMIT=${LIMIT:-0}
LORA_QTYPE=${LORA_QTYPE-treatment}
RAG_LIMIT=${RAG_LIMIT:-0} # test rows of the with/without retrieval comparison (0 = all)
LORA_STEPS=${LORA_STEPS:-200}
SHIP=${SHIP:-1}
T=$RUN/bin/trainer

mkdir -p "$RUN/bin"
say() { printf '\n== %s: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

say "build the trainer"
go build -o "$T" ./trainer

if [ ! -f "$RUN/splits/train.jsonl" ]; then
	say "data: leak-free splits of MedQuAD"
	"$T" data --input files/medquad_qa.csv.gz --out "$RUN/splits"
fi

if [ ! -f "$RUN/tokenizer/tokenizer.json" ]; then
	say "vocab: Qwen2.5's tokenizer trimmed to the training split (min count $MIN_COUNT)"
	"$T" vocab --data "$RUN/splits" --out "$RUN/tokenizer" --min-count "$MIN_COUNT"
fi
V=$(grep -o '"ids": *[0-9]*' "$RUN/tokenizer/vocab_map.json" | grep -o '[0-9]*$')
IM_END=$((V - 20)) # the added tokens close the vocabulary: <|endoftext|>, <|im_start|>, <|im_end|>, ...

# The model's shape, chosen by measurement (trainer/defaultmodel/step_bench_test.go);
# vocab_size and eos follow the trimmed tokenizer.
sed -e "s/\"vocab_size\": [0-9]*/\"vocab_size\": $V/" -e "s/\"eos_token_id\": [0-9]*/\"eos_token_id\": $IM_END/" \
	trainer/defaultmodel/config.json > "$RUN/config.json"

COMMON=(--data "$RUN/splits" --weight-decay 0.1 --batch-size 8 --max-length 512 --eval-samples 200
	--save-every 50 --keep-checkpoints 2)
# train DIR ARGS...: run `trainer train` into DIR unless DIR/model exists; resume when DIR has checkpoints.
train() {
	local dir=$1
	shift
	[ -f "$dir/model/model.safetensors" ] && return 0
	if [ -d "$dir/checkpoints" ]; then
		say "train: resuming $dir"
		"$T" train --resume --out "$dir" "$@" "${COMMON[@]}" >> "$dir.log"
	else
		say "train: $dir (events in $dir/events.jsonl)"
		"$T" train --out "$dir" "$@" "${COMMON[@]}" > "$dir.log"
	fi
	if [ ! -f "$dir/model/model.safetensors" ]; then
		echo "training stopped before the end; run the recipe again to resume" >&2
		exit 1
	fi
}
# Stage 1: from random weights, cosine from lr 1e-3.
train "$RUN/train" --full --init-config "$RUN/config.json" --tokenizer "$RUN/tokenizer" \
	--max-steps "$STEPS1" --lr 1e-3 --warmup-steps 30 --eval-every 200 --seed 42
MODEL=$RUN/train/model
if [ "$STEPS2" -gt 0 ]; then
	# Stage 2: a warm restart (new cosine cycle from 6e-4) on a new data order.
	train "$RUN/train2" --full --model "$RUN/train/model" \
		--max-steps "$STEPS2" --lr 6e-4 --warmup-steps 20 --eval-every 350 --seed 43
	MODEL=$RUN/train2/model
fi
if [ "$STEPS3" -gt 0 ]; then
	# Stage 3: most of the budget; about 3 more epochs of the training split.
	train "$RUN/train3" --full --model "$MODEL" \
		--max-steps "$STEPS3" --lr 8e-4 --warmup-steps 30 --eval-every 500 --seed 44
	MODEL=$RUN/train3/model
fi

# Generation stops at <|im_end|> (the chat turn's end) or <|endoftext|>; greedy,
# with a mild repetition penalty for chat and `trainer generate` (greedy decoding
# of so small a model loops on a phrase). `trainer eval` ignores it: pure greedy.
cat > "$MODEL/generation_config.json" <<EOF
{
  "eos_token_id": [$IM_END, $((V - 22))],
  "pad_token_id": $((V - 22)),
  "do_sample": false,
  "repetition_penalty": 1.1,
  "max_new_tokens": 256
}
EOF

if [ ! -f "$RUN/eval/report.json" ]; then
	say "eval: greedy answers on the test split (limit $LIMIT; 0 = all)"
	"$T" eval --model "$MODEL" --data "$RUN/splits" --split test --limit "$LIMIT" \
		--batch-size 16 --max-new-tokens 256 --label "default (f32)" --out "$RUN/eval"
fi

if [ ! -f "$RUN/int8/config.json" ]; then
	say "quantize: int8 per output channel; validation perplexity before and after"
	"$T" quantize --model "$MODEL" --out "$RUN/int8" --bits 8 --data "$RUN/splits" | tee "$RUN/quantize.log"
fi

if [ ! -f "$RUN/eval-rag/report.json" ]; then
	say "eval: the shipped int8 model without and with retrieved passages (RAG), test rows (limit $RAG_LIMIT; 0 = all)"
	"$T" eval --model "$RUN/int8" --label default --compare-model "$RUN/int8" --compare-rag --compare-label default \
		--data "$RUN/splits" --split test --limit "$RAG_LIMIT" --batch-size 16 --max-new-tokens 256 --no-perplexity --out "$RUN/eval-rag"
fi

LORA=$RUN/lora-${LORA_QTYPE// /-}
if [ -n "$LORA_QTYPE" ] && [ ! -f "$LORA/eval/report.json" ]; then
	say "LoRA demo: adapter on the \"$LORA_QTYPE\" rows, then base vs fine-tuned on its test rows"
	mkdir -p "$LORA/splits"
	for s in train validation test; do # split files hold one JSON object per line, qtype among its fields
		grep -F "\"qtype\":\"$LORA_QTYPE\"" "$RUN/splits/$s.jsonl" > "$LORA/splits/$s.jsonl"
	done
	if [ ! -f "$LORA/run/adapter/adapter_model.safetensors" ]; then
		RESUME=()
		[ -d "$LORA/run/checkpoints" ] && RESUME=(--resume)
		"$T" train "${RESUME[@]}" --model "$MODEL" --data "$LORA/splits" --out "$LORA/run" --max-steps "$LORA_STEPS" --lr 1e-3 \
			--lora-r 16 --lora-alpha 32 --warmup-steps 10 --batch-size 8 --max-length 512 --eval-every 100 \
			--eval-samples 100 --save-every 100 --seed 42 > "$LORA/train.log"
	fi
	"$T" eval --model "$MODEL" --label "default model" --compare-model "$MODEL" --compare-adapter "$LORA/run/adapter" \
		--compare-label "default + LoRA on $LORA_QTYPE" --data "$LORA/splits" --split test --limit "$LIMIT" \
		--batch-size 16 --max-new-tokens 256 --out "$LORA/eval"
fi

if [ "$SHIP" = 1 ]; then
	say "ship: $RUN/int8 -> assets/model"
	rm -rf assets/model.tmp
	mkdir -p assets/model.tmp/eval/full-test
	cp "$RUN"/int8/* assets/model.tmp/
	cp "$MODEL/generation_config.json" assets/model.tmp/
	cp "$RUN/tokenizer/vocab_map.json" assets/model.tmp/
	cp "$RUN/eval-rag/report.json" "$RUN/eval-rag/report.html" assets/model.tmp/eval/
	cp "$RUN/eval/report.json" "$RUN/eval/report.html" assets/model.tmp/eval/full-test/
	cp "$RUN/train/run.json" assets/model.tmp/training_run_stage1.json
	for n in 2 3; do
		[ -f "$RUN/train$n/run.json" ] && cp "$RUN/train$n/run.json" assets/model.tmp/training_run_stage$n.json
	done
	if [ -n "$LORA_QTYPE" ]; then
		mkdir -p "assets/model.tmp/eval/lora-${LORA_QTYPE// /-}"
		cp "$LORA/eval/report.json" "$LORA/eval/report.html" "assets/model.tmp/eval/lora-${LORA_QTYPE// /-}/"
	fi
	[ -f assets/model/README.md ] && cp assets/model/README.md assets/model.tmp/
	rm -rf assets/model.old
	[ -d assets/model ] && mv assets/model assets/model.old
	mv assets/model.tmp assets/model
	rm -rf assets/model.old
	du -sh assets/model
fi
say "done"
