package gguf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"medqa/trainer/quant"
)

// Q4_0 blocks decode as ggml reads them (d·(q-8), element j in the low nibble
// of byte j and j+16 in its high nibble) within half a step of the input, or
// one step at the end the codes cap (the +8 side of the range).
func TestQ4_0Decodes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 4*QK4_0)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	x[40] = -5 // a negative extreme
	clear(x[64:96])
	enc := encodeQ4_0(x)
	if len(enc) != 4*blockQ4_0 {
		t.Fatalf("%d bytes, want %d", len(enc), 4*blockQ4_0)
	}
	for b := 0; b < 4; b++ {
		blk := enc[b*blockQ4_0 : (b+1)*blockQ4_0]
		d := float64(quant.F16Float(binary.LittleEndian.Uint16(blk)))
		for j := 0; j < QK4_0; j++ {
			q := blk[2+j%16] & 15
			if j >= 16 {
				q = blk[2+j%16] >> 4
			}
			got, want := d*(float64(q)-8), float64(x[b*QK4_0+j])
			bound := math.Abs(d)/2 + 1e-3*math.Abs(want)
			if q == 15 {
				bound = math.Abs(d) + 1e-3*math.Abs(want)
			}
			if math.Abs(got-want) > bound {
				t.Fatalf("block %d element %d: decodes to %g, input %g (d %g, q %d)", b, j, got, want, d, q)
			}
		}
	}
}
