package qwen2

import (
	"fmt"
	"testing"

	"medqa/files/testkit"
	"medqa/trainer/torch"
)

// transformers' logits for the tiny checkpoint, every one within 1e-4.
func TestParityReferenceLogits(t *testing.T) {
	dir, ref := testkit.TinyQwen2(t), testkit.TinyQwen2Logits(t)
	dt, dev, tol := testTarget(t)
	m, err := Load(dir, dt, dev)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var want []float32
	for _, rows := range ref.Logits {
		for _, r := range rows {
			for _, v := range r {
				want = append(want, float32(v))
			}
		}
	}
	s := torch.NewScope()
	defer s.Close()
	// One at a time, and all three as one batch.
	var got []float32
	for _, sq := range ref.Sequences {
		got = append(got, torch.ToSlice[float32](m.Forward(s, ids(s, m, sq), nil))...)
	}
	closeRows(t, "per sequence", got, want, tol)
	closeRows(t, "batched", torch.ToSlice[float32](m.Forward(s, ids(s, m, ref.Sequences...), nil)), want, tol)
}

// Decoding through the cache (prefill, single steps, a multi-token chunk) gives
// the full forward's logits.
func TestParityCacheMatchesFullForward(t *testing.T) {
	_, _, tol := testTarget(t)
	m := randomModel(t, shapeConfig(testkit.Small), 1)
	s := torch.NewScope()
	defer s.Close()
	x := seq(20, 37, 5, m.Config.VocabSize)
	full := torch.ToSlice[float32](m.Forward(s, ids(s, m, x), nil))
	c := m.NewCache()
	defer c.Close()
	var got []float32
	for _, chunk := range [][2]int{{0, 7}, {7, 8}, {8, 11}, {11, 12}, {12, 20}} {
		h := m.Extend(s, []*Cache{c}, ids(s, m, x[chunk[0]:chunk[1]]))
		got = append(got, torch.ToSlice[float32](m.Logits(s, h))...)
	}
	if c.Len != 20 {
		t.Fatalf("cache length %d, want 20", c.Len)
	}
	closeRows(t, "cached", got, full, tol)
}

// A left- or right-padded batch computes what each sequence computes alone.
func TestParityBatchedPaddedMatchesSingle(t *testing.T) {
	_, _, tol := testTarget(t)
	m := randomModel(t, shapeConfig(testkit.Small), 2)
	s := torch.NewScope()
	defer s.Close()
	V := m.Config.VocabSize
	seqs := [][]int64{seq(5, 11, 3, V), seq(12, 29, 1, V), seq(9, 7, 100, V)}
	alone := make([][]float32, len(seqs))
	for i, sq := range seqs {
		alone[i] = torch.ToSlice[float32](m.Forward(s, ids(s, m, sq), nil))
	}
	const T = 12
	for _, left := range []bool{true, false} {
		var rows [][]int64
		var mask []int64
		for _, sq := range seqs {
			pad := T - len(sq)
			row, mrow := make([]int64, T), make([]int64, T)
			off := 0
			if left {
				off = pad
			}
			copy(row[off:], sq)
			for j := range sq {
				mrow[off+j] = 1
			}
			rows = append(rows, row)
			mask = append(mask, mrow...)
		}
		attn := torch.FromSlice(s, mask, int64(len(seqs)), T)
		out := torch.ToSlice[float32](m.Forward(s, ids(s, m, rows...), attn))
		for i, sq := range seqs {
			off := 0
			if left {
				off = T - len(sq)
			}
			got := out[(i*T+off)*V : (i*T+off+len(sq))*V]
			closeRows(t, fmt.Sprintf("left=%v sequence %d", left, i), got, alone[i], tol)
		}
	}
}

// One batched decode step over caches of different lengths equals each sequence's own step.
func TestParityBatchedCacheStep(t *testing.T) {
	_, _, tol := testTarget(t)
	m := randomModel(t, shapeConfig(testkit.Small), 3)
	s := torch.NewScope()
	defer s.Close()
	V := m.Config.VocabSize
	prompts := [][]int64{seq(3, 5, 1, V), seq(10, 13, 2, V), seq(6, 17, 3, V)}
	next := []int64{42, 7, 299}
	var want []float32
	var caches []*Cache
	for i, p := range prompts {
		solo := m.NewCache()
		m.Extend(s, []*Cache{solo}, ids(s, m, p))
		want = append(want, torch.ToSlice[float32](m.Logits(s, m.Extend(s, []*Cache{solo}, ids(s, m, []int64{next[i]}))))...)
		solo.Close()
		c := m.NewCache()
		defer c.Close()
		m.Extend(s, []*Cache{c}, ids(s, m, p))
		caches = append(caches, c)
	}
	step := ids(s, m, []int64{next[0]}, []int64{next[1]}, []int64{next[2]})
	got := torch.ToSlice[float32](m.Logits(s, m.Extend(s, caches, step)))
	closeRows(t, "batched step", got, want, tol)
	for i, c := range caches {
		if c.Len != int64(len(prompts[i])+1) {
			t.Fatalf("cache %d length %d", i, c.Len)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	if _, dev, _ := testTarget(t); dev.IsCUDA() {
		t.Skip("checkpoint I/O is device independent")
	}
	c := shapeConfig(testkit.Small)
	c.TieWordEmbeddings = false
	c.IntermediateSize = 1200 // MLP weights of 2.1 MB take the huge-page path
	m := randomModel(t, c, 4)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir, m.DType, m.Device)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	ps, qs := m.Params(), back.Params()
	if len(ps) != len(qs) || back.Config.TieWordEmbeddings {
		t.Fatalf("%d params back, want %d", len(qs), len(ps))
	}
	for i := range ps {
		if ps[i].Name != qs[i].Name || string(ps[i].Tensor.Bytes()) != string(qs[i].Tensor.Bytes()) {
			t.Fatalf("%s differs after save and load", ps[i].Name)
		}
	}
	// bf16 on disk, loaded as f32: exactly the bf16 values.
	bdir := t.TempDir()
	bm, err := NewRandom(shapeConfig(testkit.Small), 5, torch.BFloat16, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer bm.Close()
	if err := bm.Save(bdir); err != nil {
		t.Fatal(err)
	}
	fm, err := Load(bdir, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer fm.Close()
	want := torch.ToSlice[float32](bm.Layers[1].Down.Weight)
	got := torch.ToSlice[float32](fm.Layers[1].Down.Weight)
	closeRows(t, "bf16 → f32", got, want, 0)
}
