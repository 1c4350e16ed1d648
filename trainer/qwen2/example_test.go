package qwen2_test

import (
	"context"
	"fmt"
	"slices"

	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// A tiny random Qwen2: greedy generation through the KV cache chooses, at
// every step, the argmax of a full forward pass over the whole sequence.
func ExampleModel_Generate() {
	cfg := qwen2.Config{ModelType: "qwen2", HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, VocabSize: 64, MaxPositionEmbeddings: 128,
		RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true, HiddenAct: "silu"}
	m, err := qwen2.NewRandom(cfg, 7, torch.Float32, torch.CPU)
	if err != nil {
		panic(err)
	}
	defer m.Close()

	prompt := []int64{1, 2, 3}
	res, err := m.Generate(context.Background(), prompt, qwen2.GenerateOptions{MaxNewTokens: 6})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(res.Tokens), res.Reason)

	// The same tokens from full forwards, one position at a time.
	seq := slices.Clone(prompt)
	for range res.Tokens {
		s := torch.NewScope()
		ids := torch.FromSlice(s, seq, 1, int64(len(seq)))
		logits := m.Forward(s, ids, nil) // [1, T, V]
		last := logits.Narrow(s, 1, int64(len(seq)-1), 1).Argmax(s, -1, false)
		seq = append(seq, torch.ToSlice[int64](last)[0])
		s.Close()
	}
	fmt.Println(slices.Equal(seq[len(prompt):], res.Tokens))
	// Output:
	// 6 length
	// true
}
