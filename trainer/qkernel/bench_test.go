package qkernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Qwen2.5-0.5B's shapes: MLP up/gate [4864,896], down [896,4864], LM head
// [151936,896]; decode (M=1) and prefill (M=512). Two threads, as `make bench`.
var benchShapes = []struct{ N, K int }{{4864, 896}, {896, 4864}, {151936, 896}}

func BenchmarkMatMul(b *testing.B) {
	for _, M := range []int{1, 512} {
		for _, s := range benchShapes {
			if M > 1 && s.N > 10000 {
				continue // prefill needs the LM head for the last token only
			}
			r := rand.New(rand.NewPCG(1, 1))
			x := randX(r, M, s.K)
			y := make([]float32, M*s.N)
			q8, q4 := randQ8(r, s.N, s.K), randQ4(r, s.N, s.K, 32)
			name := fmt.Sprintf("M=%d/%dx%d", M, s.N, s.K)
			b.Run(name+"/q8-int8act", func(b *testing.B) {
				b.SetBytes(int64(len(q8.W)))
				for b.Loop() {
					q8.MatMul(y, x, M, nil, 2)
				}
			})
			b.Run(name+"/q8-f32act", func(b *testing.B) {
				b.SetBytes(int64(len(q8.W)))
				for b.Loop() {
					q8.MatMulFloat(y, x, M, nil, 2)
				}
			})
			b.Run(name+"/q4-int8act", func(b *testing.B) {
				b.SetBytes(int64(len(q4.W)))
				for b.Loop() {
					q4.MatMul(y, x, M, nil, 2)
				}
			})
		}
	}
}
