package quant

import "testing"

// Qwen2.5-0.5B's MLP up projection: [4864, 896].
const benchRows, benchCols = 4864, 896

func BenchmarkQuantizeRows8(b *testing.B) {
	w := randomMatrix(benchRows, benchCols, 1)
	b.SetBytes(int64(4 * len(w)))
	for b.Loop() {
		QuantizeRows8(w, benchRows, benchCols)
	}
}

func BenchmarkQuantizeGroups4(b *testing.B) {
	w := randomMatrix(benchRows, benchCols, 1)
	b.SetBytes(int64(4 * len(w)))
	for b.Loop() {
		QuantizeGroups4(w, benchRows, benchCols, 32)
	}
}

func BenchmarkDequantizeGroups4(b *testing.B) {
	w := randomMatrix(benchRows, benchCols, 1)
	p, s, z := QuantizeGroups4(w, benchRows, benchCols, 32)
	dst := make([]float32, len(w))
	b.SetBytes(int64(4 * len(w)))
	for b.Loop() {
		DequantizeGroups4(dst, p, s, z, benchRows, benchCols, 32)
	}
}
