package gguf

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkEncodeQ8_0(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 4864*896) // Qwen2.5-0.5B's MLP up projection
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.02)
	}
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		encodeQ8_0(x)
	}
}
