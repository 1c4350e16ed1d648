package eval

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"medqa/trainer/lora"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

func loraLoad(dir string, m *qwen2.Model, dt torch.DType) error {
	_, err := lora.Load(dir, m, dt)
	return err
}

// A model evaluated with --adapter must score exactly like the model with
// that adapter merged in: same greedy answers, same reference NLL.
func TestAdapterEqualsMergedModel(t *testing.T) {
	base := writeTinyModel(t, 21)
	m, err := qwen2.Load(base, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := lora.Config{R: 4, Alpha: 8, Targets: lora.Modules}
	if err := lora.Attach(m, c, 1, torch.Float32); err != nil {
		t.Fatal(err)
	}
	torch.NoGrad(func() { // PEFT starts B at zero; make the adapter matter
		torch.ManualSeed(2)
		for _, nl := range m.Linears() {
			s := torch.NewScope()
			nl.Linear.Adapter.B.Copy_(torch.Randn(s, nl.Linear.Adapter.B.Shape(), torch.Float32, torch.CPU).MulScalar(s, 0.5))
			s.Close()
		}
	})
	adapter := filepath.Join(t.TempDir(), "adapter")
	if err := lora.Save(adapter, m, c); err != nil {
		t.Fatal(err)
	}
	if err := lora.Merge(m); err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(t.TempDir(), "merged")
	if err := m.Save(merged); err != nil {
		t.Fatal(err)
	}

	rows, err := ReadSplit(writeSplit(t), "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	withAdapter, err := Open(base, adapter, loraLoad, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer withAdapter.Close()
	plain := openTiny(t, base)
	mergedT := openTiny(t, merged)
	nA, _ := AnswerNLL(withAdapter, rows, 2, 0)
	nM, _ := AnswerNLL(mergedT, rows, 2, 0)
	nB, _ := AnswerNLL(plain, rows, 2, 0)
	differs := false
	for i := range rows {
		if math.Abs(nA[i].Sum-nM[i].Sum) > 1e-3 || nA[i].Tokens != nM[i].Tokens {
			t.Errorf("row %d: NLL with adapter %v, merged %v", i, nA[i], nM[i])
		}
		differs = differs || math.Abs(nA[i].Sum-nB[i].Sum) > 1e-2
	}
	if !differs {
		t.Error("the adapter changed nothing: the test would pass without loading it")
	}
	gA, _, err := Generate(context.Background(), withAdapter, rows, GenOptions{MaxNewTokens: 5, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	gM, _, _ := Generate(context.Background(), mergedT, rows, GenOptions{MaxNewTokens: 5, BatchSize: 4})
	for i := range gA {
		if gA[i] != gM[i] {
			t.Errorf("row %d: with adapter %+v, merged %+v", i, gA[i], gM[i])
		}
	}
	if want := filepath.Base(base) + "+adapter"; withAdapter.Label != want { // the model folder's name
		t.Errorf("label %q, want %q", withAdapter.Label, want)
	}
}
