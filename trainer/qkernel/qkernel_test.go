package qkernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// f16 converts a float16 bit pattern independently of the C code.
func f16(h uint16) float64 {
	exp, mant := int(h>>10)&0x1f, float64(h&0x3ff)
	v := 0.0
	if exp == 0 {
		v = mant / 1024 * math.Pow(2, -14)
	} else {
		v = (1 + mant/1024) * math.Pow(2, float64(exp-15))
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return v
}

func randQ8(r *rand.Rand, N, K int) *Q8 {
	q := &Q8{N: N, K: K, W: make([]int8, N*K), Scale: make([]float32, N)}
	for i := range q.W {
		q.W[i] = int8(r.IntN(255) - 127)
	}
	for i := range q.Scale {
		q.Scale[i] = float32(r.Float64()*0.01 + 1e-4)
	}
	if N > 1 {
		q.Scale[1] = 0 // an all-zero row quantizes to scale 0
	}
	return q
}

func randQ4(r *rand.Rand, N, K, group int) *Q4 {
	ng := K / group
	q := &Q4{N: N, K: K, Group: group, W: make([]byte, N*K/2), Scale: make([]uint16, N*ng), Zero: make([]uint8, N*ng)}
	for i := range q.W {
		q.W[i] = byte(r.IntN(256))
	}
	for i := range q.Scale {
		q.Scale[i] = uint16(0x1c00 + r.IntN(0x0c00)) // float16 in [2^-8, 2^-5)
		q.Zero[i] = uint8(r.IntN(16))
	}
	return q
}

func (q *Q8) deq(n, k int) float64 { return float64(q.W[n*q.K+k]) * float64(q.Scale[n]) }

func (q *Q4) deq(n, k int) float64 {
	i := n*q.K + k
	c := q.W[i/2] & 15
	if i%2 == 1 {
		c = q.W[i/2] >> 4
	}
	g := n*(q.K/q.Group) + k/q.Group
	return (float64(c) - float64(q.Zero[g])) * f16(q.Scale[g])
}

// randX mixes normal values with an outlier block, a zero block and a tail.
func randX(r *rand.Rand, M, K int) []float32 {
	x := make([]float32, M*K)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	if M > 0 && K > 40 {
		x[3] = 50               // an outlier: its block's scale is large
		clear(x[32:min(64, K)]) // a zero block: scale 0
	}
	return x
}

// check compares y with the float64 product of the dequantized weights and
// x. The bound follows from the quantization of x: each input is off by at
// most half its block's scale d = max|x_block|/127, so an output is off by at
// most Σ|w|·d/2, plus float32 rounding (relative 1e-5 of Σ|w·x|).
func check(t testing.TB, name string, y, x []float32, M, N, K int, deq func(n, k int) float64, bias []float32, quantized bool) {
	t.Helper()
	for m := 0; m < M; m++ {
		xr := x[m*K : (m+1)*K]
		d := make([]float64, (K+Block-1)/Block)
		for k, v := range xr {
			d[k/Block] = math.Max(d[k/Block], math.Abs(float64(v))/127)
		}
		for n := 0; n < N; n++ {
			var want, mag, qerr float64
			for k := 0; k < K; k++ {
				w := deq(n, k)
				want += w * float64(xr[k])
				mag += math.Abs(w * float64(xr[k]))
				qerr += math.Abs(w) * d[k/Block] / 2
			}
			if bias != nil {
				want += float64(bias[n])
				mag += math.Abs(float64(bias[n]))
			}
			bound := 1e-5*mag + 1e-30
			if quantized {
				bound += qerr * (1 + 1e-5)
			}
			if got := float64(y[m*N+n]); !(math.Abs(got-want) <= bound) {
				t.Fatalf("%s [M=%d N=%d K=%d] y[%d,%d] = %g, want %g ± %g (kernel %s)", name, M, N, K, m, n, got, want, bound, Kernel())
			}
		}
	}
}

// kernels runs fn with each code the CPU has: VNNI, AVX2, the portable C.
func kernels(t *testing.T, fn func(t *testing.T)) {
	defer SetSIMD(true)
	for _, k := range []string{"vnni", "avx2", "generic"} {
		if (k == "vnni" && !HasVNNI()) || (k == "avx2" && !HasAVX2()) {
			continue
		}
		t.Run(k, func(t *testing.T) {
			if err := Use(k); err != nil || Kernel() != k {
				t.Fatalf("Use(%q): %v, running %s", k, err, Kernel())
			}
			fn(t)
		})
	}
}

// shapes are odd on purpose: rows not a multiple of the tiles (4, 2) and
// inputs not a multiple of the block (Q8 only: int4 needs whole groups).
var shapes = []struct{ M, N, K int }{{1, 1, 1}, {1, 7, 33}, {1, 9, 31}, {2, 13, 96}, {3, 5, 65}, {4, 3, 200},
	{5, 11, 64}, {9, 6, 127}, {17, 10, 320}, {1, 130, 896}, {8, 64, 896}}

func TestQ8MatMul(t *testing.T) {
	kernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, s := range shapes {
			for _, threads := range []int{1, 2, 3} {
				q := randQ8(r, s.N, s.K)
				x := randX(r, s.M, s.K)
				bias := make([]float32, s.N)
				for i := range bias {
					bias[i] = float32(r.NormFloat64())
				}
				y := make([]float32, s.M*s.N)
				q.MatMul(y, x, s.M, bias, threads)
				check(t, "Q8.MatMul", y, x, s.M, s.N, s.K, q.deq, bias, true)
				q.MatMulFloat(y, x, s.M, nil, threads)
				check(t, "Q8.MatMulFloat", y, x, s.M, s.N, s.K, q.deq, nil, false)
			}
		}
	})
}

func TestQ4MatMul(t *testing.T) {
	kernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, s := range shapes {
			for _, group := range []int{32, 64} {
				K := (s.K + group - 1) / group * group
				q := randQ4(r, s.N, K, group)
				x := randX(r, s.M, K)
				y := make([]float32, s.M*s.N)
				q.MatMul(y, x, s.M, nil, 2)
				check(t, fmt.Sprintf("Q4/%d.MatMul", group), y, x, s.M, s.N, K, q.deq, nil, true)
			}
		}
	})
}

// With every block holding ±127·c, quantizing x loses nothing, so the
// products must match the dequantized ones to float rounding: a tight check
// of the integer arithmetic (signs, nibble order, zero points, tails).
func TestExactActivations(t *testing.T) {
	kernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, s := range shapes {
			K := (s.K + 63) / 64 * 64
			x := make([]float32, s.M*K)
			for m := 0; m < s.M; m++ {
				for k := 0; k < K; k++ {
					c := float32(math.Ldexp(1, r.IntN(6)-3))
					if k%Block == 0 {
						x[m*K+k] = 127 * c
					} else {
						x[m*K+k] = float32(r.IntN(255)-127) * x[m*K+k-k%Block] / 127
					}
				}
			}
			y := make([]float32, s.M*s.N)
			q8 := randQ8(r, s.N, K)
			q8.MatMul(y, x, s.M, nil, 2)
			check(t, "Q8 exact", y, x, s.M, s.N, K, q8.deq, nil, false)
			q4 := randQ4(r, s.N, K, 64)
			q4.MatMul(y, x, s.M, nil, 2)
			check(t, "Q4 exact", y, x, s.M, s.N, K, q4.deq, nil, false)
		}
	})
}

// The AVX2 and portable code do the same integer arithmetic; only the order
// of float additions differs.
func TestSIMDMatchesGeneric(t *testing.T) {
	if !HasAVX2() {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(7, 8))
	M, N, K := 7, 37, 256
	x := randX(r, M, K)
	q8, q4 := randQ8(r, N, K), randQ4(r, N, K, 32)
	run := func(simd bool) (a, b []float32) {
		SetSIMD(simd)
		defer SetSIMD(true)
		a, b = make([]float32, M*N), make([]float32, M*N)
		q8.MatMul(a, x, M, nil, 2)
		q4.MatMul(b, x, M, nil, 2)
		return a, b
	}
	a1, b1 := run(true)
	a2, b2 := run(false)
	for i := range a1 {
		if d := math.Abs(float64(a1[i] - a2[i])); d > 1e-5*math.Abs(float64(a2[i]))+1e-6 {
			t.Fatalf("Q8 y[%d]: avx2 %g, generic %g", i, a1[i], a2[i])
		}
		if d := math.Abs(float64(b1[i] - b2[i])); d > 1e-5*math.Abs(float64(b2[i]))+1e-6 {
			t.Fatalf("Q4 y[%d]: avx2 %g, generic %g", i, b1[i], b2[i])
		}
	}
}

// The VNNI code gives every lane the same integer as the AVX2 code and adds
// the lanes in the same order: the outputs are the same floats, on shapes
// that exercise every tile (rows 1–9, output rows not a multiple of 4, a
// partial last block for int8, int4 groups of 32 and 64).
func TestVNNIEqualsAVX2(t *testing.T) {
	if !HasVNNI() {
		t.Skip("no AVX512-VNNI") // CI=true runs on this machine kind, which has it
	}
	defer SetSIMD(true)
	r := rand.New(rand.NewPCG(12, 13))
	for _, M := range []int{1, 2, 3, 4, 5, 7, 9} {
		for _, s := range []struct{ N, K int }{{1, 64}, {7, 40}, {13, 128}, {6, 320}} {
			x := randX(r, M, s.K)
			q8 := randQ8(r, s.N, s.K)
			K4, group := s.K/32*32, 32
			if K4%64 == 0 && K4 > 64 {
				group = 64
			}
			q4 := randQ4(r, s.N, K4, group)
			x4 := x
			if q4.K != s.K {
				x4 = randX(r, M, q4.K)
			}
			run := func(k string) (a, b []float32) {
				Use(k)
				a, b = make([]float32, M*s.N), make([]float32, M*s.N)
				q8.MatMul(a, x, M, nil, 2)
				q4.MatMul(b, x4, M, nil, 2)
				return a, b
			}
			a1, b1 := run("vnni")
			a2, b2 := run("avx2")
			for i := range a1 {
				if a1[i] != a2[i] || b1[i] != b2[i] {
					t.Fatalf("M=%d N=%d K=%d y[%d]: int8 vnni %g avx2 %g, int4 vnni %g avx2 %g", M, s.N, s.K, i, a1[i], a2[i], b1[i], b2[i])
				}
			}
		}
	}
}

func TestRows(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	q8, q4 := randQ8(r, 6, 96), randQ4(r, 6, 128, 64)
	out := make([]float32, 3*128)
	q8.Rows(out, 2, 5)
	for i := 0; i < 3*96; i++ {
		if want := q8.deq(2+i/96, i%96); float64(out[i]) != float64(float32(want)) {
			t.Fatalf("Q8.Rows[%d] = %g, want %g", i, out[i], want)
		}
	}
	q4.Rows(out, 3, 6)
	for i := 0; i < 3*128; i++ {
		if want := q4.deq(3+i/128, i%128); math.Abs(float64(out[i])-want) > 1e-7*math.Abs(want) {
			t.Fatalf("Q4.Rows[%d] = %g, want %g", i, out[i], want)
		}
	}
}

// FuzzMatMul draws shapes and values; `go test` runs its seeds, `go test
// -fuzz FuzzMatMul` explores.
func FuzzMatMul(f *testing.F) {
	f.Add(uint64(1), uint8(1), uint8(5), uint8(40), false)
	f.Add(uint64(2), uint8(6), uint8(3), uint8(100), true)
	f.Add(uint64(3), uint8(4), uint8(8), uint8(7), false)
	f.Fuzz(func(t *testing.T, seed uint64, m, n, k uint8, generic bool) {
		M, N, K := int(m%12)+1, int(n%40)+1, int(k)+1
		if generic {
			SetSIMD(false)
			defer SetSIMD(true)
		}
		r := rand.New(rand.NewPCG(seed, 11))
		x := randX(r, M, K)
		for i := range x {
			x[i] *= float32(math.Ldexp(1, r.IntN(20)-10))
		}
		y := make([]float32, M*N)
		q8 := randQ8(r, N, K)
		q8.MatMul(y, x, M, nil, 2)
		check(t, "fuzz Q8", y, x, M, N, K, q8.deq, nil, true)
		K4 := (K + 31) / 32 * 32
		x4 := randX(r, M, K4)
		q4 := randQ4(r, N, K4, 32)
		q4.MatMul(y, x4, M, nil, 2)
		check(t, "fuzz Q4", y, x4, M, N, K4, q4.deq, nil, true)
	})
}
