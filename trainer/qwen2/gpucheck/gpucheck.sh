#!/usr/bin/env bash
# GPU check, run by hand on a machine with an NVIDIA GPU (`make gpu-check LIBTORCH=/path/to/libtorch`):
# the qwen2 parity tests (transformers' reference logits, cache == full forward, padded batch ==
# single sequences, batched cache step) on CUDA in bf16 with a looser tolerance (2e-2·(1+|logit|), a few
# bf16 ulps, instead of 1e-4), then decode and prefill tokens/s for the Qwen2.5-0.5B shape.
#
#   LIBTORCH=/opt/libtorch trainer/qwen2/gpucheck/gpucheck.sh
#   MEDQA_DEVICE=cuda:1 MEDQA_DTYPE=f32 trainer/qwen2/gpucheck/gpucheck.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
if [ -n "${LIBTORCH:-}" ]; then
	# The same flags as the Makefile: a CUDA libtorch must link libtorch_cuda even though
	# no symbol of it is referenced, or CUDA devices stay invisible.
	export CGO_CXXFLAGS="-I$LIBTORCH/include -I$LIBTORCH/include/torch/csrc/api/include"
	export CGO_LDFLAGS="-L$LIBTORCH/lib -Wl,-rpath,$LIBTORCH/lib -Wl,--no-as-needed -ltorch_cuda -Wl,--as-needed"
	export LD_LIBRARY_PATH="$LIBTORCH/lib:${LD_LIBRARY_PATH:-}"
fi
export MEDQA_DEVICE=${MEDQA_DEVICE:-cuda} MEDQA_DTYPE=${MEDQA_DTYPE:-bf16}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
echo "== parity on $MEDQA_DEVICE in $MEDQA_DTYPE"
go test -count=1 -v -run 'Parity|Seeded|Stop' ./trainer/qwen2 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|tolerance|sees'
echo "== speed (Qwen2.5-0.5B shape, random weights, $MEDQA_DEVICE $MEDQA_DTYPE)"
go test -count=1 -run '^$' -bench 'BenchmarkDecode$|BenchmarkPrefill$' -benchtime 3x ./trainer/qwen2 | grep -E 'Benchmark|ok|FAIL'
echo "== LoRA training on $MEDQA_DEVICE (bf16 autocast)"
go test -count=1 -v -run 'TestBF16AutocastTrains' ./trainer/sft 2>&1 | grep -E '^(--- |PASS|FAIL|ok)'
go test -count=1 -run '^$' -bench 'BenchmarkLoRAStepCUDA$' -benchtime 5x ./trainer/sft | grep -E 'Benchmark|tokens/s|ok|FAIL'
