package torch

import (
	"math"
	"math/rand/v2"
	"testing"
)

// qcase is a random block-quantized matrix with its dense float64 values.
type qcase struct {
	q     QMatrix
	dense []float64 // [out,in]
}

// randomQ draws codes, scales and (for 4 bits) zero points, and computes the
// dense matrix from them in float64, independently of the shim.
func randomQ(s *Scope, r *rand.Rand, out, in, group int, bits int) qcase {
	ng := in / group
	dense := make([]float64, out*in)
	scales := make([]float32, out*ng)
	for i := range scales {
		scales[i] = float32(0.001 + 0.01*r.Float64())
	}
	c := qcase{q: QMatrix{Out: int64(out), In: int64(in)}, dense: dense}
	if bits == 8 {
		codes := make([]int8, out*in)
		for i := range codes {
			codes[i] = int8(r.IntN(255) - 127)
			dense[i] = float64(codes[i]) * float64(scales[i/in*ng+i%in/group])
		}
		c.q.Codes = FromSlice(s, codes, int64(out), int64(in))
	} else {
		nib := make([]uint8, out*in/2)
		zeros := make([]uint8, out*ng)
		for i := range zeros {
			zeros[i] = uint8(r.IntN(16))
		}
		for i := range dense {
			v := uint8(r.IntN(16))
			nib[i/2] |= v << (4 * (i % 2)) // element 2j in the low nibble
			g := i/in*ng + i%in/group
			dense[i] = (float64(v) - float64(zeros[g])) * float64(scales[g])
		}
		c.q.Codes = FromSlice(s, nib, int64(out), int64(in/2))
		c.q.Zeros = FromSlice(s, zeros, int64(out), int64(ng))
	}
	// int4 scales are float16 in the format: pass them as such.
	sc := FromSlice(s, scales, int64(out), int64(ng))
	if bits == 4 {
		h := sc.ToDType(s, Float16)
		for i, v := range ToSlice[float32](h.ToDType(s, Float32)) { // the dense values use the rounded scales
			for j := 0; j < group; j++ {
				row, g := i/ng, i%ng
				k := row*in + g*group + j
				code := dense[k] / float64(scales[i])
				dense[k] = code * float64(v)
			}
			scales[i] = v
		}
		sc = h
	}
	c.q.Scales = sc
	return c
}

// TestQLinearMatchesDense checks the quantized linear op against a float64
// computation from the codes: the dequantized matrix, the product with a
// bias, and the input and bias gradients of sum(y·r). The wide case takes
// two blocks of rows (the op dequantizes at most 4M values at a time).
func TestQLinearMatchesDense(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name                 string
		rows, out, in, group int
		bits                 int
	}{
		{"int8", 7, 48, 64, 64, 8},
		{"int4", 7, 48, 64, 16, 4},
		{"int8 two blocks", 3, 2100, 2048, 2048, 8},
		{"int4 two blocks", 3, 2100, 2048, 32, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewScope()
			defer s.Close()
			c := randomQ(s, r, tc.out, tc.in, tc.group, tc.bits)
			xs, bs, rs := make([]float32, tc.rows*tc.in), make([]float32, tc.out), make([]float32, tc.rows*tc.out)
			for i := range xs {
				xs[i] = float32(r.NormFloat64())
			}
			for i := range bs {
				bs[i] = float32(r.NormFloat64())
			}
			for i := range rs {
				rs[i] = float32(r.NormFloat64())
			}
			// float64 references
			y, dx, db := make([]float64, len(rs)), make([]float64, len(xs)), make([]float64, tc.out)
			for m := 0; m < tc.rows; m++ {
				for n := 0; n < tc.out; n++ {
					acc := float64(bs[n])
					for k := 0; k < tc.in; k++ {
						acc += float64(xs[m*tc.in+k]) * c.dense[n*tc.in+k]
					}
					y[m*tc.out+n] = acc
					g := float64(rs[m*tc.out+n])
					db[n] += g
					for k := 0; k < tc.in; k++ {
						dx[m*tc.in+k] += g * c.dense[n*tc.in+k]
					}
				}
			}
			if got := ToSlice[float32](c.q.Dequant(s, Float32)); maxRel(got, c.dense) > 1e-7 {
				t.Errorf("Dequant differs from the codes' values by rel %g", maxRel(got, c.dense))
			}
			x := FromSlice(s, xs, int64(tc.rows), int64(tc.in)).SetRequiresGrad(true)
			b := FromSlice(s, bs, int64(tc.out)).SetRequiresGrad(true)
			out := QLinear(s, x, b, c.q)
			if sh := out.Shape(); sh[0] != int64(tc.rows) || sh[1] != int64(tc.out) {
				t.Fatalf("shape %v", sh)
			}
			if e := maxRel(ToSlice[float32](out), y); e > 1e-5 {
				t.Errorf("forward: rel err %g", e)
			}
			out.Mul(s, FromSlice(s, rs, int64(tc.rows), int64(tc.out))).Sum(s).Backward()
			if e := maxRel(ToSlice[float32](x.Grad(s)), dx); e > 1e-5 {
				t.Errorf("input gradient: rel err %g", e)
			}
			if e := maxRel(ToSlice[float32](b.Grad(s)), db); e > 1e-5 {
				t.Errorf("bias gradient: rel err %g", e)
			}
		})
	}
}

// maxRel is max|a-b| / max|b|.
func maxRel(a []float32, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range a {
		num = max(num, math.Abs(float64(a[i])-b[i]))
		den = max(den, math.Abs(b[i]))
	}
	return num / den
}
