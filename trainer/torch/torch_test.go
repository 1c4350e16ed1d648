package torch

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

func TestBLASIsOptimized(t *testing.T) {
	// A 64x64 product makes sure the BLAS library is loaded before we look for it.
	s := NewScope()
	defer s.Close()
	a := Ones(s, []int64{64, 64}, Float32, CPU)
	a.Mm(s, a)
	b := BLAS()
	t.Logf("BLAS: %s; threads: %d; libtorch %s", b, NumThreads(), strings.SplitN(Version(), "\n", 2)[0])
	if strings.HasPrefix(b, "reference") {
		t.Fatalf("libtorch runs on the reference BLAS (%s), ~35x slower: apt-get install libopenblas0", b)
	}
}

func TestDefaultThreadsAllCores(t *testing.T) {
	if got := NumThreads(); got != runtime.NumCPU() {
		t.Fatalf("NumThreads = %d, want all %d cores", got, runtime.NumCPU())
	}
}

func TestSliceRoundTrip(t *testing.T) {
	s := NewScope()
	defer s.Close()
	f := []float32{1.5, -2, 3.25, 0, float32(math.Inf(1)), 7}
	x := FromSlice(s, f, 2, 3)
	if sh := x.Shape(); len(sh) != 2 || sh[0] != 2 || sh[1] != 3 || x.DType() != Float32 {
		t.Fatalf("got %v", x)
	}
	if got := ToSlice[float32](x); !equal(got, f) {
		t.Fatalf("float32 round trip: %v", got)
	}
	ids := []int64{0, 1 << 40, -5}
	if got := ToSlice[int64](FromSlice(s, ids)); !equal(got, ids) {
		t.Fatalf("int64 round trip: %v", got)
	}
	i8 := []int8{-128, 0, 127}
	if got := ToSlice[int8](FromSlice(s, i8)); !equal(got, i8) {
		t.Fatalf("int8 round trip: %v", got)
	}
	// bf16 keeps the top 16 bits of a float32: 1.5 and -2 are exact.
	bf := FromSlice(s, []float32{1.5, -2}).ToDType(s, BFloat16)
	if raw := bf.Bytes(); len(raw) != 4 || raw[0] != 0xc0 || raw[1] != 0x3f || raw[2] != 0x00 || raw[3] != 0xc0 {
		t.Fatalf("bf16 bytes %x", raw)
	}
	if got := ToSlice[float64](bf); !equal(got, []float64{1.5, -2}) {
		t.Fatalf("bf16 → f64: %v", got)
	}
	h := FromBytes(s, []byte{0x00, 0x3c, 0x00, 0xc0}, Float16, []int64{2}, CPU) // 1.0, -2.0 in IEEE half
	if got := ToSlice[float32](h); !equal(got, []float32{1, -2}) {
		t.Fatalf("f16 bytes → f32: %v", got)
	}
}

func TestErrorsBecomeGoErrors(t *testing.T) {
	s := NewScope()
	defer s.Close()
	a := Zeros(s, []int64{2, 3}, Float32, CPU)
	b := Zeros(s, []int64{4, 5}, Float32, CPU)
	err := Do(func() { a.Mm(s, b) })
	var te *Error
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "mat1 and mat2 shapes cannot be multiplied") {
		t.Fatalf("want libtorch's shape error, got %v", err)
	}
	if strings.Contains(err.Error(), "frame #") {
		t.Fatalf("error carries a C++ backtrace: %v", err)
	}
	if err := Do(func() { a.Close(); a.Neg(s) }); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("use after Close: %v", err)
	}
}

func TestScopeFreesAndKeeps(t *testing.T) {
	s := NewScope()
	x := Ones(s, []int64{3}, Float32, CPU)
	y := x.MulScalar(s, 2)
	kept := s.Keep(y.AddScalar(s, 1))
	if s.Len() != 2 {
		t.Fatalf("scope holds %d tensors, want 2", s.Len())
	}
	s.Close()
	if !x.Closed() || !y.Closed() || kept.Closed() {
		t.Fatal("Close must free tracked tensors and spare kept ones")
	}
	if got := ToSlice[float32](kept); !equal(got, []float32{3, 3, 3}) {
		t.Fatalf("kept = %v", got)
	}
	kept.Close()
}

func TestLinearMatchesNaive(t *testing.T) {
	s := NewScope()
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	const in, out = 5, 4
	w, b := randVec(r, out*in), randVec(r, out)
	W, B := FromSlice(s, w, out, in), FromSlice(s, b)
	for _, rows := range []int64{1, 2, 3} { // 1 and 2 rows take the matrix-vector path
		x := randVec(r, int(rows)*in)
		got := ToSlice[float64](Linear(s, FromSlice(s, x, 1, rows, in), W, B))
		for i := 0; i < int(rows); i++ {
			for o := 0; o < out; o++ {
				want := b[o]
				for k := 0; k < in; k++ {
					want += x[i*in+k] * w[o*in+k]
				}
				if math.Abs(got[i*out+o]-want) > 1e-12 {
					t.Fatalf("rows=%d [%d,%d]: %v want %v", rows, i, o, got[i*out+o], want)
				}
			}
		}
	}
}

func TestAttentionMatchesNaive(t *testing.T) {
	s := NewScope()
	defer s.Close()
	r := rand.New(rand.NewPCG(3, 4))
	const B, NH, KV, T, S, D = 2, 4, 2, 3, 5, 2
	q, k, v := randVec(r, B*NH*T*D), randVec(r, B*KV*S*D), randVec(r, B*KV*S*D)
	mask := make([]float64, B*T*S)
	for i := range mask {
		if r.IntN(3) == 0 && i%S != 0 {
			mask[i] = math.Inf(-1)
		}
	}
	scale := 0.7
	got := ToSlice[float64](Attention(s, FromSlice(s, q, B, NH, T, D), FromSlice(s, k, B, KV, S, D),
		FromSlice(s, v, B, KV, S, D), FromSlice(s, mask, B, 1, T, S), scale))
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			kh := h / (NH / KV)
			for i := 0; i < T; i++ {
				w := make([]float64, S)
				mx := math.Inf(-1)
				for j := 0; j < S; j++ {
					dot := 0.0
					for d := 0; d < D; d++ {
						dot += q[((b*NH+h)*T+i)*D+d] * k[((b*KV+kh)*S+j)*D+d]
					}
					w[j] = dot*scale + mask[(b*T+i)*S+j]
					mx = math.Max(mx, w[j])
				}
				sum := 0.0
				for j := range w {
					w[j] = math.Exp(w[j] - mx)
					sum += w[j]
				}
				for d := 0; d < D; d++ {
					want := 0.0
					for j := 0; j < S; j++ {
						want += w[j] / sum * v[((b*KV+kh)*S+j)*D+d]
					}
					if g := got[((b*NH+h)*T+i)*D+d]; math.Abs(g-want) > 1e-12 {
						t.Fatalf("[%d,%d,%d,%d] = %v want %v", b, h, i, d, g, want)
					}
				}
			}
		}
	}
}

func TestCrossEntropyIgnoresIndex(t *testing.T) {
	s := NewScope()
	defer s.Close()
	logits := []float64{1, 2, 3, 0, 0, 5, -1, 4, 2}
	target := []int64{2, -100, 1}
	got := CrossEntropy(s, FromSlice(s, logits, 3, 3), FromSlice(s, target), -100, ReduceMean).Item()
	nll := func(row []float64, y int) float64 {
		m, z := math.Inf(-1), 0.0
		for _, v := range row {
			m = math.Max(m, v)
		}
		for _, v := range row {
			z += math.Exp(v - m)
		}
		return m + math.Log(z) - row[y]
	}
	want := (nll(logits[0:3], 2) + nll(logits[6:9], 1)) / 2
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("cross entropy %v want %v", got, want)
	}
}

// The autograd gradient of a small composite function equals central differences,
// through Linear's matrix-vector path (2 rows) and its GEMM path (3 rows).
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	w := randVec(r, 12)
	for _, rows := range []int64{2, 3} {
		x0 := randVec(r, int(rows)*3)
		target := []int64{1, 3, 0}[:rows]
		f := func(s *Scope, x *Tensor) *Tensor {
			W := FromSlice(s, w, 4, 3)
			h := Linear(s, x, W, nil).Silu(s)                                 // [rows,4]
			n := RMSNorm(s, h, Ones(s, []int64{4}, Float64, CPU), 1e-6)       // [rows,4]
			return CrossEntropy(s, n, FromSlice(s, target), -100, ReduceMean) // scalar
		}
		s := NewScope()
		x := FromSlice(s, x0, rows, 3).SetRequiresGrad(true)
		f(s, x).Backward()
		grad := ToSlice[float64](x.Grad(s))
		const h = 1e-6
		for i := range x0 {
			xp, xm := append([]float64(nil), x0...), append([]float64(nil), x0...)
			xp[i] += h
			xm[i] -= h
			fd := (f(s, FromSlice(s, xp, rows, 3)).Item() - f(s, FromSlice(s, xm, rows, 3)).Item()) / (2 * h)
			if math.Abs(fd-grad[i]) > 1e-7 {
				t.Fatalf("rows=%d d/dx[%d]: autograd %v, finite differences %v", rows, i, grad[i], fd)
			}
		}
		x.ZeroGrad()
		if x.Grad(s) != nil {
			t.Fatal("ZeroGrad must drop the gradient")
		}
		s.Close()
	}
}

func TestNoGrad(t *testing.T) {
	s := NewScope()
	defer s.Close()
	x := Ones(s, []int64{2}, Float32, CPU).SetRequiresGrad(true)
	var y *Tensor
	NoGrad(func() { y = x.MulScalar(s, 2) })
	if y.RequiresGrad() || !x.MulScalar(s, 2).RequiresGrad() {
		t.Fatal("NoGrad must stop recording and restore the mode afterwards")
	}
}

// Two AdamW steps against the update rule written out by hand.
func TestAdamWMatchesHandComputed(t *testing.T) {
	s := NewScope()
	defer s.Close()
	p0 := []float64{0.5, -1, 2}
	grads := [][]float64{{0.1, -0.2, 0.3}, {-0.4, 0.05, 0.6}}
	p := FromSlice(s, p0).SetRequiresGrad(true)
	opt := NewAdamW([]string{"p"}, []*Tensor{p}, 0.01, 0.1)
	defer opt.Close()
	want := append([]float64(nil), p0...)
	m, v := make([]float64, 3), make([]float64, 3)
	for step, g := range grads {
		loss := p.Mul(s, FromSlice(s, g)).Sum(s) // dloss/dp = g
		loss.Backward()
		opt.Step()
		opt.ZeroGrad()
		n := float64(step + 1)
		for i := range want {
			want[i] *= 1 - 0.01*0.1
			m[i] = 0.9*m[i] + 0.1*g[i]
			v[i] = 0.999*v[i] + 0.001*g[i]*g[i]
			want[i] -= 0.01 / (1 - math.Pow(0.9, n)) * m[i] / (math.Sqrt(v[i])/math.Sqrt(1-math.Pow(0.999, n)) + 1e-8)
		}
	}
	got := ToSlice[float64](p)
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-14 {
			t.Fatalf("p[%d] = %.17g want %.17g", i, got[i], want[i])
		}
	}
}

// Restoring the optimizer state mid-run continues exactly like the uninterrupted run.
func TestAdamWStateResumesExactly(t *testing.T) {
	s := NewScope()
	defer s.Close()
	run := func(p *Tensor, opt *AdamW, steps []int) {
		for _, k := range steps {
			g := FromSlice(s, []float32{float32(k), -1.5, 0.25 * float32(k)})
			p.Mul(s, g).Mul(s, p).Sum(s).Backward()
			opt.Step()
			opt.ZeroGrad()
		}
	}
	a := FromSlice(s, []float32{1, 2, 3}).SetRequiresGrad(true)
	optA := NewAdamW([]string{"w"}, []*Tensor{a}, 0.1, 0.01)
	run(a, optA, []int{1, 2, 3, 4})

	b := FromSlice(s, []float32{1, 2, 3}).SetRequiresGrad(true)
	optB := NewAdamW([]string{"w"}, []*Tensor{b}, 0.1, 0.01)
	run(b, optB, []int{1, 2})
	saved := optB.State()[0]
	snap := AdamWState{Name: "w", Step: saved.Step, ExpAvg: saved.ExpAvg.Clone(s), ExpAvgSq: saved.ExpAvgSq.Clone(s)}
	c := b.Detach(s).Clone(s).SetRequiresGrad(true)
	optC := NewAdamW([]string{"w"}, []*Tensor{c}, 0.1, 0.01)
	if err := optC.LoadState([]AdamWState{snap}); err != nil {
		t.Fatal(err)
	}
	run(c, optC, []int{3, 4})
	if ga, gc := ToSlice[float32](a), ToSlice[float32](c); !equal(ga, gc) {
		t.Fatalf("resumed %v, uninterrupted %v", gc, ga)
	}
	if err := optC.LoadState([]AdamWState{{Name: "nope"}}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestManualSeedRepeats(t *testing.T) {
	s := NewScope()
	defer s.Close()
	ManualSeed(7)
	a := ToSlice[float32](Randn(s, []int64{5}, Float32, CPU))
	ManualSeed(7)
	b := ToSlice[float32](Randn(s, []int64{5}, Float32, CPU))
	if !equal(a, b) {
		t.Fatalf("same seed, different draws: %v %v", a, b)
	}
}

func TestSamplingOps(t *testing.T) {
	s := NewScope()
	defer s.Close()
	x := FromSlice(s, []float32{0.1, 3, -1, 2})
	v, i := x.TopK(s, 2, 0, true)
	if !equal(ToSlice[float32](v), []float32{3, 2}) || !equal(ToSlice[int64](i), []int64{1, 3}) {
		t.Fatal("topk")
	}
	_, si := x.Sort(s, 0, true)
	if !equal(ToSlice[int64](si), []int64{1, 3, 0, 2}) {
		t.Fatal("sort")
	}
	if got := x.Argmax(s, 0, false).Item(); got != 1 {
		t.Fatalf("argmax %v", got)
	}
	ManualSeed(1)
	d := FromSlice(s, []float32{0, 0, 1, 0}).Multinomial(s, 3, true)
	if !equal(ToSlice[int64](d), []int64{2, 2, 2}) {
		t.Fatal("multinomial from a one-hot row")
	}
}

func randVec(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEmptyHugePagesAndCopyFromBytes(t *testing.T) {
	s := NewScope()
	defer s.Close()
	w := EmptyHugePages(s, []int64{2}, Float32)
	w.CopyFromBytes([]byte{0xc0, 0x3f, 0x00, 0xc0}, BFloat16, []int64{2}) // bf16 1.5, -2
	if got := ToSlice[float32](w); !equal(got, []float32{1.5, -2}) {
		t.Fatalf("bf16 bytes copied into f32: %v", got)
	}
	big := EmptyHugePages(s, []int64{1 << 20}, Float32) // 4 MiB
	big.Fill_(3)
	if got := big.Sum(s).Item(); got != 3<<20 {
		t.Fatalf("sum %v", got)
	}
	if err := Do(func() { w.CopyFromBytes([]byte{1}, BFloat16, []int64{2}) }); err == nil {
		t.Fatal("short byte slice accepted")
	}
}

func TestRNGStateRestoresDraws(t *testing.T) {
	s := NewScope()
	defer s.Close()
	ManualSeed(3)
	Randn(s, []int64{4}, Float32, CPU)
	st, err := RNGState(CPU)
	if err != nil {
		t.Fatal(err)
	}
	a := ToSlice[float32](Ones(s, []int64{64}, Float32, CPU).Dropout(s, 0.5, true))
	Randn(s, []int64{100}, Float32, CPU)
	if err := SetRNGState(CPU, st); err != nil {
		t.Fatal(err)
	}
	b := ToSlice[float32](Ones(s, []int64{64}, Float32, CPU).Dropout(s, 0.5, true))
	if !equal(a, b) {
		t.Fatal("dropout masks differ after restoring the generator state")
	}
	if err := SetRNGState(CPU, []byte{1, 2, 3}); err == nil {
		t.Fatal("a 3-byte state was accepted")
	}
}

func TestClipGradNorm(t *testing.T) {
	s := NewScope()
	defer s.Close()
	a := FromSlice(s, []float64{1, 2}).SetRequiresGrad(true)
	b := FromSlice(s, []float64{3}).SetRequiresGrad(true)
	unused := FromSlice(s, []float64{9}).SetRequiresGrad(true)
	// loss = 3·a0 + 4·a1 + 12·b: gradients [3,4] and [12], joint norm 13.
	a.Mul(s, FromSlice(s, []float64{3, 4})).Sum(s).Add(s, b.MulScalar(s, 12).Sum(s)).Backward()
	total, err := ClipGradNorm([]*Tensor{a, b, unused}, 6.5)
	if err != nil || math.Abs(total-13) > 1e-12 {
		t.Fatalf("norm %v, %v", total, err)
	}
	ga, gb := ToSlice[float64](a.Grad(s)), ToSlice[float64](b.Grad(s))
	coef := 6.5 / (13 + 1e-6)
	if math.Abs(ga[0]-3*coef) > 1e-12 || math.Abs(ga[1]-4*coef) > 1e-12 || math.Abs(gb[0]-12*coef) > 1e-12 {
		t.Fatalf("clipped grads %v %v", ga, gb)
	}
}
