package quant

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// testConfig is the Toy test shape widened so that every input is a
// multiple of 64 (every int4 group size applies).
func testConfig(tied bool) qwen2.Config {
	s := testkit.Toy
	s.Hidden, s.Intermediate, s.Vocab, s.Tied = 128, 192, 320, tied
	return qwen2test.Config(s)
}

// writeRandomModel saves a random f32 model with a generation_config.json
// (which quantizing must carry over) and returns its directory.
func writeRandomModel(t testing.TB, c qwen2.Config, seed uint64) string {
	t.Helper()
	dir := qwen2test.Write(t, c, seed)
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(`{"eos_token_id": 2, "do_sample": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// logits runs a model directory (Hugging Face or quantized) on fixed ids.
func logits(t testing.TB, dir string, ids []int64) []float32 {
	t.Helper()
	load := qwen2.Load
	if IsQuantized(dir) {
		load = Load
	}
	m, err := load(dir, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out []float32
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		x := torch.FromSlice(s, ids, 1, int64(len(ids)))
		out = torch.ToSlice[float32](m.Forward(s, x, nil))
	})
	return out
}

// relErr is ||a-b|| / ||b||.
func relErr(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}

// randomMatrix mixes the cases quantizers get wrong: a zero row, a row
// with one outlier, rows of one sign, tiny and large magnitudes.
func randomMatrix(rows, cols int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.02)
	}
	row := func(i int) []float32 { return w[i*cols : (i+1)*cols] }
	clear(row(0))
	row(1)[5] = 3
	for j := range row(2) {
		row(2)[j] = float32(math.Abs(float64(row(2)[j]))) + 0.5
	}
	for j := range row(3) {
		row(3)[j] = -float32(math.Abs(float64(row(3)[j])))
	}
	for j := range row(4) {
		row(4)[j] *= 1e-5
	}
	for j := range row(5) {
		row(5)[j] *= 1e3
	}
	row(6)[0] = 0.7 // an outlier in only the first group of the row
	return w
}
