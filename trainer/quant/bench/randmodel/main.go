// Command randmodel writes a random Qwen2.5-0.5B-shaped float32 model (Hugging
// Face layout) for the quantization benchmark: real weights never reach this
// machine, and speed and memory depend only on the shape.
//
//	go run ./trainer/quant/bench/randmodel --out DIR [--seed 0] [--config CONFIG.json]
//
// --config gives another shape (smoke runs of the benchmarks on a tiny one).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

func main() {
	out := flag.String("out", "", "output model directory")
	seed := flag.Uint64("seed", 0, "seed of libtorch's generator")
	config := flag.String("config", "", "config.json of the shape (default: Qwen2.5-0.5B's)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "randmodel: --out is required")
		os.Exit(2)
	}
	runtime.LockOSThread()
	c := qwen2.Config{ModelType: "qwen2", HiddenSize: 896, IntermediateSize: 4864, NumHiddenLayers: 24,
		NumAttentionHeads: 14, NumKeyValueHeads: 2, VocabSize: 151936, MaxPositionEmbeddings: 32768,
		RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: true, HiddenAct: "silu"}
	var err error
	if *config != "" {
		if c, err = qwen2.LoadConfig(*config); err != nil {
			fmt.Fprintln(os.Stderr, "randmodel:", err)
			os.Exit(1)
		}
	}
	m, err := qwen2.NewRandom(c, *seed, torch.Float32, torch.CPU)
	if err == nil {
		err = m.Save(*out)
	}
	if err == nil {
		// Greedy decoding with no stop token: every run decodes the full count.
		err = os.WriteFile(filepath.Join(*out, "generation_config.json"), []byte(`{"do_sample": false, "eos_token_id": []}`+"\n"), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "randmodel:", err)
		os.Exit(1)
	}
}
