package qwen2

import (
	"math"
	"os"
	"testing"

	"medqa/files/testkit"
	"medqa/trainer/torch"
)

// testTarget is where the parity tests run: f32 on the CPU by default;
// MEDQA_DEVICE=cuda MEDQA_DTYPE=bf16 runs them on a GPU (shim built with `make shim LIBTORCH=<CUDA libtorch>`).
func testTarget(t testing.TB) (torch.DType, torch.Device, float64) {
	dt, dev := torch.Float32, torch.CPU
	if s := os.Getenv("MEDQA_DTYPE"); s != "" {
		var err error
		if dt, err = torch.ParseDType(s); err != nil {
			t.Fatal(err)
		}
	}
	if s := os.Getenv("MEDQA_DEVICE"); s != "" {
		var err error
		if dev, err = torch.ParseDevice(s); err != nil {
			t.Fatal(err)
		}
		if dev.IsCUDA() && torch.CUDADeviceCount() <= int(dev) {
			t.Fatalf("MEDQA_DEVICE=%s but libtorch sees %d CUDA devices (build the shim with make shim LIBTORCH=<CUDA libtorch>)", s, torch.CUDADeviceCount())
		}
	}
	tol := 1e-4
	if dt == torch.BFloat16 || dt == torch.Float16 {
		tol = -2e-2 // negative: relative as well, see closeRows
	}
	return dt, dev, tol
}

// shapeConfig is one of the shared test shapes (files/testkit: Small for
// the parity tests, Qwen25 for the benchmarks) read as this package reads
// any config.json. (qwen2test cannot serve this package's own tests: it
// imports qwen2.)
func shapeConfig(s testkit.Shape) Config {
	c, err := ParseConfig("test shape", s.ConfigJSON())
	if err != nil {
		panic(err) // the shapes are fixed values
	}
	return c
}

func randomModel(t testing.TB, c Config, seed uint64) *Model {
	t.Helper()
	dt, dev, _ := testTarget(t)
	m, err := NewRandom(c, seed, dt, dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func ids(s *torch.Scope, m *Model, rows ...[]int64) *torch.Tensor {
	var flat []int64
	for _, r := range rows {
		flat = append(flat, r...)
	}
	return torch.FromSlice(s, flat, int64(len(rows)), int64(len(rows[0]))).To(s, torch.Int64, m.Device)
}

func seq(n int, mul, add int64, vocab int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = (int64(i)*mul + add) % int64(vocab)
	}
	return out
}

// closeRows fails unless got and want agree within tol: |Δ| <= tol, or for a
// negative tol (half precision) |Δ| <= |tol|·(1+|want|), a few bf16 ulps.
func closeRows(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, at := 0.0, 0 // the largest |Δ|/allowed
	for i := range got {
		allowed := tol
		if tol < 0 {
			allowed = -tol * (1 + math.Abs(float64(want[i])))
		}
		d := math.Abs(float64(got[i]) - float64(want[i]))
		r := d / allowed
		if d == 0 {
			r = 0 // also when tol is 0
		}
		if r > worst || math.IsNaN(r) {
			worst, at = r, i
			if math.IsNaN(r) {
				break
			}
		}
	}
	if !(worst <= 1) {
		t.Fatalf("%s: |Δ| = %.3g at index %d (got %v want %v), tolerance %g", what,
			math.Abs(float64(got[at])-float64(want[at])), at, got[at], want[at], tol)
	}
}
