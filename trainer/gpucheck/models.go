package gpucheck

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// qwen25 is Qwen2.5-0.5B's shape; on the CPU two layers and a 16384-word vocabulary (every other width
// kept), so that the float64 peer and a training step take seconds there.
func qwen25(small bool) qwen2.Config {
	c := qwen2.Config{ModelType: "qwen2", HiddenSize: 896, IntermediateSize: 4864, NumHiddenLayers: 24,
		NumAttentionHeads: 14, NumKeyValueHeads: 2, VocabSize: 151936, MaxPositionEmbeddings: 32768,
		RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: true, HiddenAct: "silu"}
	if small {
		c.NumHiddenLayers, c.VocabSize = 2, 16384
	}
	return c
}

// shapeName names qwen25(small) in the report.
func shapeName(small bool) string {
	if small {
		return "qwen2.5-0.5b-2layers-16kvocab"
	}
	return "qwen2.5-0.5b"
}

// randomModel is a Qwen2.5-0.5B-shaped model with random weights (seed 0) saved in f32 under
// Work/models, made by the first check that needs it and reused by the others. Both sides of a
// comparison read this one file, so nothing depends on two generators agreeing.
func randomModel(o Options) (string, qwen2.Config, error) {
	c := qwen25(o.Small())
	dir := filepath.Join(o.Work, "models", shapeName(o.Small()))
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return dir, c, nil
	}
	m, err := qwen2.NewRandom(c, 0, torch.Float32, torch.CPU)
	if err != nil {
		return "", c, err
	}
	defer m.Close()
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := m.Save(tmp); err != nil {
		return "", c, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", c, err
	}
	return dir, c, nil
}

// tinyDir is the tiny-qwen2 fixture in the bundle (transformers' reference logits beside it).
func (o Options) tinyDir() string { return filepath.Join(o.Bundle, "testdata", "tiny-qwen2") }

// promptRows are n rows of t token ids below vocab, all different (the same formula as ref.py).
func promptRows(n, t, vocab int) [][]int64 {
	rows := make([][]int64, n)
	for r := range rows {
		rows[r] = make([]int64, t)
		for i := range rows[r] {
			rows[r][i] = int64((i*7919 + 13 + r*104729) % vocab)
		}
	}
	return rows
}

// forward returns m's logits [B,T,V] for equal-length rows, as float32 on the host.
func forward(m *qwen2.Model, rows [][]int64) []float32 {
	var out []float32
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		var flat []int64
		for _, r := range rows {
			flat = append(flat, r...)
		}
		ids := torch.FromSlice(s, flat, int64(len(rows)), int64(len(rows[0]))).To(s, torch.Int64, m.Device)
		out = torch.ToSlice[float32](m.Forward(s, ids, nil).To(s, torch.Float32, torch.CPU))
	})
	return out
}

// Diff compares logits with a reference: the largest absolute error, the largest error relative to
// 1+|reference| (the scale-free figure the tolerances apply to), and how many positions pick the same
// greedy token.
type Diff struct {
	MaxAbs, MaxRel float64
	Same, Rows     int
}

func compare(got, want []float32, vocab int) (Diff, error) {
	if len(got) != len(want) || vocab <= 0 || len(got)%vocab != 0 {
		return Diff{}, fmt.Errorf("compare: %d logits against %d (vocabulary %d)", len(got), len(want), vocab)
	}
	var d Diff
	for i := range got {
		e := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(e) {
			return Diff{MaxAbs: math.NaN(), MaxRel: math.NaN(), Rows: len(got) / vocab}, nil
		}
		d.MaxAbs = max(d.MaxAbs, e)
		d.MaxRel = max(d.MaxRel, e/(1+math.Abs(float64(want[i]))))
	}
	for r := 0; r < len(got); r += vocab {
		d.Rows++
		if argmax(got[r:r+vocab]) == argmax(want[r:r+vocab]) {
			d.Same++
		}
	}
	return d, nil
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// Obj is the diff as report figures.
func (d Diff) Obj() *Obj {
	return (&Obj{}).Set("max_abs_err", sig(d.MaxAbs)).Set("max_rel_err", sig(d.MaxRel)).
		Set("greedy_match", fmt.Sprintf("%d/%d", d.Same, d.Rows))
}

func finite(x []float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}
