package sft

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"medqa/trainer/lora"
	"medqa/trainer/modeldir"
	"medqa/trainer/quant"
	"medqa/trainer/torch"
)

// quantizedToy quantizes a random toy model to bits and returns the quantized
// directory and a float32 Hugging Face copy of its dequantized weights.
func quantizedToy(t *testing.T, bits int) (qdir, deq string) {
	t.Helper()
	qdir = filepath.Join(t.TempDir(), "q")
	if _, err := quant.Quantize(toyModel(t, 1), qdir, quant.Options{Bits: bits}); err != nil {
		t.Fatal(err)
	}
	m, err := modeldir.LoadFloat(qdir, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	deq = filepath.Join(t.TempDir(), "deq")
	if err := m.Save(deq); err != nil {
		t.Fatal(err)
	}
	return qdir, deq
}

// TestQLoRALossParity: LoRA over an int8 (and int4) base stays packed and
// follows the same run over its dequantized float32 copy, step for step,
// within 1 % (the products are the dequantized weights' own, so in fact to
// float32 rounding); validation, which runs on the int8 kernels as serving
// does, stays close too.
func TestQLoRALossParity(t *testing.T) {
	for _, bits := range []int{8, 4} {
		qdir, deq := quantizedToy(t, bits)
		r := &run{cfg: toyRun(t, qdir), dev: torch.CPU}
		if err := r.loadModel(""); err != nil {
			t.Fatal(err)
		}
		if !r.m.IsPacked() || r.m.PackedEmbed == nil || r.m.Layers[0].Q.Weight != nil {
			t.Fatalf("int%d: the training model holds dense weights", bits)
		}
		r.m.Close()

		ds := func() *Dataset { return NewDataset(toyTask(64, 1), toyTask(16, 2)) }
		run := func(base string) ([]float64, []float64) {
			c := toyRun(t, base)
			c.MaxSteps, c.EvalEvery, c.LoraDropout = 20, 10, 0.05
			_, rec := train(t, context.Background(), c, ds(), false)
			var val []float64
			for _, e := range rec.of("eval") {
				val = append(val, *e.ValLoss)
			}
			return losses(rec.events), val
		}
		gotL, gotV := run(qdir)
		wantL, wantV := run(deq)
		if len(gotL) != 20 || len(wantL) != 20 {
			t.Fatalf("int%d: %d and %d steps", bits, len(gotL), len(wantL))
		}
		worst := 0.0
		for i := range gotL {
			worst = max(worst, math.Abs(gotL[i]-wantL[i])/wantL[i])
		}
		t.Logf("int%d: loss %.4f → %.4f (dequantized f32: %.4f → %.4f), worst step difference %.2g; val loss %v vs %v",
			bits, gotL[0], gotL[19], wantL[0], wantL[19], worst, gotV, wantV)
		if worst > 0.01 {
			t.Errorf("int%d: training losses differ by up to %.3g%% from the dequantized base's:\n got %v\nwant %v", bits, 100*worst, gotL, wantL)
		}
		if !(gotL[19] < 0.8*gotL[0]) {
			t.Errorf("int%d: loss %.3f → %.3f did not fall", bits, gotL[0], gotL[19])
		}
		for i := range wantV {
			if math.Abs(gotV[i]-wantV[i]) > 0.01*wantV[i] {
				t.Errorf("int%d: validation loss %g, dequantized base %g", bits, gotV[i], wantV[i])
			}
		}
	}
}

// TestQLoRAResumeIsExact: over a quantized base, an interrupted (or crashed)
// and resumed run logs exactly what the uninterrupted one does.
func TestQLoRAResumeIsExact(t *testing.T) {
	qdir, _ := quantizedToy(t, 4)
	checkResumeIsExact(t, qdir)
}

// The adapter names the quantized base it was trained over; --full over a
// quantized base is refused, naming the directory and its bits.
func TestQLoRAAdapterAndFullRefusal(t *testing.T) {
	qdir, _ := quantizedToy(t, 8)
	c := toyRun(t, qdir)
	c.MaxSteps = 2
	res, _ := train(t, context.Background(), c, NewDataset(toyTask(8, 1), nil), false)
	lc, err := lora.ReadConfig(res.Output)
	if err != nil {
		t.Fatal(err)
	}
	if lc.BaseModel != qdir {
		t.Errorf("adapter's base_model_name_or_path %q, want the quantized base %q", lc.BaseModel, qdir)
	}

	c = toyRun(t, qdir)
	c.Full = true
	_, err = Run(context.Background(), c, NewDataset(toyTask(8, 1), nil), Options{})
	if err == nil || !strings.Contains(err.Error(), qdir) || !strings.Contains(err.Error(), "int8 quantized") {
		t.Fatalf("--full over %s: %v; want a refusal naming the directory and int8", qdir, err)
	}
}
