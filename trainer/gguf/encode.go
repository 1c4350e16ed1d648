package gguf

import (
	"encoding/binary"
	"math"

	"medqa/trainer/quant"
)

// Q8_0: blocks of QK8_0 consecutive elements of a row, each a float16 scale
// d = max|x|/127 followed by QK8_0 int8 codes round(x/d); x ≈ d·q.
const (
	QK8_0     = 32
	blockQ8_0 = 2 + QK8_0
)

// encodeQ8_0 encodes x (a multiple of QK8_0 elements) as ggml's
// quantize_row_q8_0_ref does: the code uses the float32 scale, the stored
// scale is its float16 rounding.
func encodeQ8_0(x []float32) []byte {
	out := make([]byte, 0, len(x)/QK8_0*blockQ8_0)
	for b := 0; b < len(x); b += QK8_0 {
		blk := x[b : b+QK8_0]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		id := float32(0)
		if d != 0 {
			id = 1 / d
		}
		out = binary.LittleEndian.AppendUint16(out, quant.F16Bits(d))
		for _, v := range blk {
			out = append(out, byte(int8(math.Round(float64(v*id)))))
		}
	}
	return out
}

// Q4_0: blocks of QK4_0 elements, each a float16 scale d followed by 16
// bytes of 4-bit codes q in [0,15] with x ≈ d·(q-8); element j of the block
// is the low nibble of byte j, element j+16 its high nibble. d = m/-8 for the
// element m of largest magnitude (so m itself is exactly -8·d), as ggml's
// reference quantizer chooses it; codes truncate x/d+8.5, capped at 15.
const (
	QK4_0     = 32
	blockQ4_0 = 2 + QK4_0/2
)

func encodeQ4_0(x []float32) []byte {
	out := make([]byte, 0, len(x)/QK4_0*blockQ4_0)
	for b := 0; b < len(x); b += QK4_0 {
		blk := x[b : b+QK4_0]
		var amax, m float32
		for _, v := range blk {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax, m = a, v
			}
		}
		d := m / -8
		id := float32(0)
		if d != 0 {
			id = 1 / d
		}
		out = binary.LittleEndian.AppendUint16(out, quant.F16Bits(d))
		code := func(v float32) byte { return byte(min(15, int8(v*id+8.5))) }
		for j := 0; j < QK4_0/2; j++ {
			out = append(out, code(blk[j])|code(blk[j+QK4_0/2])<<4)
		}
	}
	return out
}

func encodeF16(x []float32) []byte {
	out := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(out[2*i:], quant.F16Bits(v))
	}
	return out
}

func encodeF32(x []float32) []byte {
	out := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}
