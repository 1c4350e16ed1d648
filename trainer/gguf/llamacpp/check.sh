#!/usr/bin/env bash
# Runs a model exported to GGUF in llama.cpp and compares it with medqa:
# the chat prompt's token ids (llama.cpp's tokenizer from the GGUF metadata
# vs wasm/tokenizer) and greedy continuations (llama.cpp vs trainer/qwen2).
# F32 must agree token for token; F16 and Q8_0 are reported.
#
# usage: trainer/gguf/llamacpp/check.sh MODEL_DIR [N_NEW]
# Needs node and npm; installs node-llama-cpp (prebuilt llama.cpp) into .cache/llamacpp.
set -euo pipefail
model=${1:?usage: check.sh MODEL_DIR [N_NEW]}
n=${2:-24}
root=$(git rev-parse --show-toplevel)
here=$root/trainer/gguf/llamacpp
cache=$root/.cache/llamacpp
if [ ! -d "$cache/node_modules/node-llama-cpp" ]; then
	mkdir -p "$cache"
	(cd "$cache" && npm init -y >/dev/null && npm install --no-audit --no-fund node-llama-cpp@3.22.1 >/dev/null 2>&1)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/run.mjs" "$cache/run.mjs"
go build -o "$work/trainer" "$root/trainer"
export OMP_WAIT_POLICY=passive

msgs='{"messages":[{"role":"system","content":"You are a medical question-answering assistant. Answer accurately and clearly."},{"role":"user","content":"What are the symptoms of glaucoma?"}],"add_generation_prompt":true}'
echo "$msgs" | "$work/trainer" tokenize --tokenizer "$model" >"$work/prompt.json"
ids=$(node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).ids.join(",")))' <"$work/prompt.json")
ours=$("$work/trainer" generate --model "$model" --ids "$ids" --max-new-tokens "$n" | tr -s ' \n' ',' | sed 's/,$//')
echo "medqa   prompt ${ids}"
echo "medqa   greedy ${ours}"
status=0
for typ in f32 f16 q8_0; do
	"$work/trainer" export --model "$model" --out "$work/m.$typ.gguf" --type "$typ" >/dev/null 2>&1
	got=$(node "$cache/run.mjs" "$work/m.$typ.gguf" "$work/prompt.json" "$n")
	p=$(echo "$got" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).prompt.join(",")))')
	g=$(echo "$got" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).generated.join(",")))')
	same=$(node -e 'const a=process.argv[1].split(","),b=process.argv[2].split(",");let i=0;while(i<a.length&&i<b.length&&a[i]===b[i])i++;console.log(i)' "$ours" "$g")
	echo "llama.cpp $typ: prompt $([ "$p" = "$ids" ] && echo identical || echo DIFFERENT), greedy agrees for the first $same of $n tokens"
	if [ "$p" != "$ids" ] || { [ "$typ" = f32 ] && [ "$g" != "$ours" ]; }; then status=1; fi
done
exit $status
