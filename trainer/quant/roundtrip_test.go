package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"medqa/trainer/torch"
)

// The float16 conversion must agree bit for bit with libtorch's .half():
// every float16 value round-trips, and random float32s (normal, subnormal,
// overflowing, exact ties) round the same way.
func TestF16MatchesTorch(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16Float(uint16(h))
		if f != f {
			continue
		}
		if got := F16Bits(f); got != uint16(h) {
			t.Fatalf("F16Bits(F16Float(%#04x) = %v) = %#04x", h, f, got)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	var xs []float32
	for i := 0; i < 20000; i++ {
		xs = append(xs, math.Float32frombits(r.Uint32()&0x7fffffff|uint32(r.IntN(2))<<31))
		xs = append(xs, float32(r.NormFloat64()*math.Pow(2, float64(r.IntN(40)-30))))
	}
	xs = append(xs, 65504, 65519.99, 65520, 1+1.0/2048, 1+3.0/2048, 5.960464477539063e-08, 2.98e-08, 2.9802322387695312e-08, 0, float32(math.Inf(1)))
	var want []byte
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		want = torch.FromSlice(s, xs).ToDType(s, torch.Float16).Bytes()
	})
	for i, x := range xs {
		w := uint16(want[2*i]) | uint16(want[2*i+1])<<8
		if x != x {
			continue
		}
		if got := F16Bits(x); got != w {
			t.Fatalf("F16Bits(%g) = %#04x, torch says %#04x", x, got, w)
		}
	}
}

func TestInt8RoundTripBound(t *testing.T) {
	const rows, cols = 8, 96
	w := randomMatrix(rows, cols, 3)
	q, scale := QuantizeRows8(w, rows, cols)
	deq := make([]float32, len(w))
	DequantizeRows8(deq, q, scale, rows, cols)
	for r := 0; r < rows; r++ {
		amax, qmax := 0.0, 0
		for c := 0; c < cols; c++ {
			i := r*cols + c
			amax = math.Max(amax, math.Abs(float64(w[i])))
			qmax = max(qmax, abs(int(q[i])))
			if q[i] < -127 {
				t.Fatalf("row %d: code %d below -127", r, q[i])
			}
			// scale/2 exactly, plus the float32 rounding of q·scale.
			if e := math.Abs(float64(w[i]) - float64(deq[i])); e > float64(scale[r])/2+ulp(w[i]) {
				t.Fatalf("row %d col %d: |w-deq| = %g > scale/2 = %g", r, c, e, scale[r]/2)
			}
		}
		if want := float32(amax / 127); scale[r] != want {
			t.Errorf("row %d: scale %g, want max|w|/127 = %g", r, scale[r], want)
		}
		if amax > 0 && qmax != 127 {
			t.Errorf("row %d: largest code %d, want 127 (the range is not used)", r, qmax)
		}
	}
	if scale[0] != 0 {
		t.Errorf("zero row: scale %g, want 0", scale[0])
	}
}

func TestInt4RoundTripBound(t *testing.T) {
	const rows, cols = 8, 128
	w := randomMatrix(rows, cols, 4)
	for _, g := range []int{32, 64} {
		packed, scales, zeros := QuantizeGroups4(w, rows, cols, g)
		if len(packed) != rows*cols/2 || len(scales) != rows*cols/g || len(zeros) != rows*cols/g {
			t.Fatalf("g%d: sizes %d/%d/%d", g, len(packed), len(scales), len(zeros))
		}
		deq := make([]float32, len(w))
		DequantizeGroups4(deq, packed, scales, zeros, rows, cols, g)
		for i := range w {
			gi := i / g
			s := float64(F16Float(scales[gi]))
			if zeros[gi] > 15 {
				t.Fatalf("g%d group %d: zero point %d", g, gi, zeros[gi])
			}
			if e := math.Abs(float64(w[i]) - float64(deq[i])); e > s/2*(1+1e-6)+ulp(w[i]) {
				t.Fatalf("g%d element %d (group %d): w=%g deq=%g |err| %g > scale/2 = %g", g, i, gi, w[i], deq[i], e, s/2)
			}
			// The code decodes as its nibble says.
			nib := packed[i/2] >> (4 * (i % 2)) & 0xf
			if want := (float32(nib) - float32(zeros[gi])) * F16Float(scales[gi]); deq[i] != want {
				t.Fatalf("g%d element %d: packing: deq %g, nibble says %g", g, i, deq[i], want)
			}
		}
		// Scale covers the widened range with the smallest float16 that does.
		for gi := range scales {
			lo, hi := 0.0, 0.0
			for _, v := range w[gi*g : (gi+1)*g] {
				lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
			}
			s := float64(F16Float(scales[gi]))
			if s*15 < hi-lo || (scales[gi] > 0 && float64(F16Float(scales[gi]-1))*15 >= hi-lo) {
				t.Fatalf("g%d group %d: scale %g is not the least float16 with 15·scale >= %g", g, gi, s, hi-lo)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ulp is the spacing of float32 at x: the rounding a float32 product may add.
func ulp(x float32) float64 {
	a := math.Abs(float64(x))
	return float64(math.Nextafter32(float32(a), float32(math.Inf(1)))) - a
}
