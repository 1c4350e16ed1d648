package lora_test

import (
	"fmt"
	"os"

	"medqa/trainer/lora"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// Attach fresh adapters, save them in the PEFT layout and read the config back.
func Example() {
	cfg := qwen2.Config{ModelType: "qwen2", HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, VocabSize: 64, MaxPositionEmbeddings: 128,
		RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true, HiddenAct: "silu"}
	m, err := qwen2.NewRandom(cfg, 1, torch.Float32, torch.CPU)
	if err != nil {
		panic(err)
	}
	defer m.Close()

	targets, err := lora.ParseTargets("q_proj,v_proj")
	if err != nil {
		panic(err)
	}
	c := lora.Config{R: 4, Alpha: 8, Dropout: 0.05, Targets: targets}
	if err := lora.Attach(m, c, 42, torch.Float32); err != nil {
		panic(err)
	}
	ps := lora.Params(m)
	fmt.Println(len(ps), ps[0].Name)

	dir, err := os.MkdirTemp("", "lora-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := lora.Save(dir, m, c); err != nil {
		panic(err)
	}
	back, err := lora.ReadConfig(dir)
	if err != nil {
		panic(err)
	}
	fmt.Println(back.R, back.Alpha, back.Targets, back.Scale())
	// Output:
	// 8 base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight
	// 4 8 [q_proj v_proj] 2
}
