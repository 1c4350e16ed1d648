package sft

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"medqa/trainer/lora"
	"medqa/trainer/qwen2"
	"medqa/trainer/runspec"
	"medqa/trainer/torch"
)

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func TestLoRALossFalls(t *testing.T) {
	base := toyModel(t, 1)
	c := toyRun(t, base)
	c.MaxSteps, c.EvalEvery = 60, 20
	ds := NewDataset(toyTask(64, 1), toyTask(16, 2))
	res, rec := train(t, context.Background(), c, ds, false)
	l := losses(rec.events)
	if len(l) != 60 {
		t.Fatalf("%d step events, want 60", len(l))
	}
	first, last := mean(l[:5]), mean(l[55:])
	if !(last < 0.6*first) {
		t.Errorf("training loss %.3f → %.3f: did not fall by 40%%", first, last)
	}
	evals := rec.of("eval")
	if len(evals) != 3 || !(*evals[2].ValLoss < *evals[0].ValLoss) {
		t.Fatalf("eval events %+v: want 3 with falling val_loss", evals)
	}
	if got := *evals[2].ValPPL; math.Abs(got-math.Exp(*evals[2].ValLoss)) > 1e-9 {
		t.Errorf("val_ppl %g is not exp(val_loss)", got)
	}
	if res.Status != runspec.StatusCompleted || res.Output != filepath.Join(c.Out, "adapter") {
		t.Errorf("result %+v", res)
	}
	// The published adapter is the trained one: reloaded onto the base model,
	// it reproduces the final validation loss.
	m, err := qwen2.Load(base, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := lora.Load(res.Output, m, torch.Float32); err != nil {
		t.Fatal(err)
	}
	var sum float64
	var n int
	for i := range ds.Validation {
		b := makeBatch(ds.Validation, []int{i})
		sum += lossSum(m, b)
		n += b.targets
	}
	if d := math.Abs(sum/float64(n) - *evals[2].ValLoss); d > 1e-5 {
		t.Errorf("reloaded adapter: val loss %g, run reported %g", sum/float64(n), *evals[2].ValLoss)
	}
	// Every event type the contract names, in order, on disk as on the hook.
	disk := readEvents(t, filepath.Join(c.Out, EventsFile))
	if len(disk) != len(rec.events) || disk[0].Type != "start" || disk[len(disk)-1].Type != "done" {
		t.Fatalf("events.jsonl has %d events (want %d, start…done)", len(disk), len(rec.events))
	}
	var info map[string]any
	raw, _ := os.ReadFile(filepath.Join(c.Out, RunFile))
	if err := json.Unmarshal(raw, &info); err != nil || info["status"] != "completed" || info["code_version"] != "test" {
		t.Errorf("run.json: %v %v", err, info["status"])
	}
}

func TestFullTrainingFromScratch(t *testing.T) {
	dir := t.TempDir()
	raw, _ := json.Marshal(toyConfig())
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	c := toyRun(t, "")
	c.InitConfig, c.Full, c.MaxSteps, c.LR = cfgPath, true, 40, 3e-3
	ds := NewDataset(toyTask(64, 1), toyTask(8, 2))
	res, rec := train(t, context.Background(), c, ds, false)
	l := losses(rec.events)
	if first, last := mean(l[:5]), mean(l[35:]); !(last < 0.8*first) {
		t.Errorf("loss %.3f → %.3f did not fall", first, last)
	}
	// Every weight trains: embeddings 32·32, per layer norms 2·32, q 32·32+32,
	// k and v 16·32+16 each, o 32·32, MLP 3·64·32, and the final norm.
	if n := rec.of("start")[0].TrainableParams; n != 1024+2*(64+1056+2*528+1024+3*2048)+32 {
		t.Errorf("trainable params %d, want 19744", n)
	}
	m, err := qwen2.Load(res.Output, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatalf("final model is not a loadable Hugging Face directory: %v", err)
	}
	m.Close()
	for _, f := range []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(res.Output, f)); err != nil {
			t.Errorf("model directory lacks %s", f)
		}
	}
}

func TestBF16AutocastTrains(t *testing.T) {
	c := toyRun(t, toyModel(t, 1))
	c.Precision, c.MaxSteps = "bf16", 30
	if d := os.Getenv("MEDQA_DEVICE"); d != "" {
		c.Device = d // MEDQA_DEVICE=cuda: the same run on CUDA
	}
	res, rec := train(t, context.Background(), c, NewDataset(toyTask(64, 1), nil), false)
	l := losses(rec.events)
	if first, last := mean(l[:5]), mean(l[25:]); !(last < 0.8*first) {
		t.Errorf("bf16 loss %.3f → %.3f did not fall", first, last)
	}
	if rec.of("start")[0].Precision != "bf16-autocast" {
		t.Errorf("precision %q", rec.of("start")[0].Precision)
	}
	// Masters stay float32: the saved adapter is F32 and loads.
	if _, err := lora.ReadConfig(res.Output); err != nil {
		t.Fatal(err)
	}
}

// TestResumeIsExact interrupts a run, resumes it, and compares every logged
// number with the uninterrupted run: equal to the last bit, dropout included.
func TestResumeIsExact(t *testing.T) { checkResumeIsExact(t, toyModel(t, 1)) }

// checkResumeIsExact runs TestResumeIsExact's checks over the base model base.
func checkResumeIsExact(t *testing.T, base string) {
	c := toyRun(t, base)
	c.MaxSteps, c.GradAccum, c.BatchSize, c.LoraDropout = 12, 2, 3, 0.1
	c.SaveEvery, c.EvalEvery, c.WeightDecay = 4, 3, 0.01
	ds := func() *Dataset { return NewDataset(toyTask(20, 1), toyTask(6, 2)) }

	train(t, context.Background(), c, ds(), false)
	want := readEvents(t, filepath.Join(c.Out, EventsFile))

	for _, tc := range []struct {
		name      string
		stopAfter int
		dropLast  bool // delete the interrupt's checkpoint: resume from the periodic one (a crash)
	}{{"interrupt", 6, false}, {"crash", 6, true}} {
		t.Run(tc.name, func(t *testing.T) {
			c2 := c
			c2.Out = filepath.Join(t.TempDir(), "run")
			ctx, cancel := context.WithCancel(context.Background())
			rec := &recorder{}
			res, err := Run(ctx, c2, ds(), Options{OnEvent: func(ev runspec.Event) {
				rec.hook(ev)
				if ev.Type == "step" && ev.Step == tc.stopAfter {
					cancel()
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != runspec.StatusInterrupted || res.Steps != tc.stopAfter {
				t.Fatalf("interrupted run: %+v", res)
			}
			if _, err := os.Stat(filepath.Join(c2.Out, "checkpoints", "step-6")); err != nil {
				t.Fatal("no checkpoint at the interrupted step")
			}
			if tc.dropLast {
				os.RemoveAll(filepath.Join(c2.Out, "checkpoints", "step-6"))
			}
			train(t, context.Background(), c2, ds(), true)
			got := readEvents(t, filepath.Join(c2.Out, EventsFile))
			if !slices.Equal(losses(got), losses(want)) {
				t.Fatalf("losses after resume differ:\n got %v\nwant %v", losses(got), losses(want))
			}
			for _, typ := range []string{"step", "eval"} {
				var g, w []float64
				for _, e := range got {
					if e.Type == typ {
						g = append(g, *orNaN(e.GradNorm), *orNaN(e.LR), *orNaN(e.ValLoss), e.Epoch)
					}
				}
				for _, e := range want {
					if e.Type == typ {
						w = append(w, *orNaN(e.GradNorm), *orNaN(e.LR), *orNaN(e.ValLoss), e.Epoch)
					}
				}
				if !slices.EqualFunc(g, w, func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }) {
					t.Errorf("%s events differ after resume:\n got %v\nwant %v", typ, g, w)
				}
			}
			a, _ := os.ReadFile(filepath.Join(c.Out, "adapter", lora.WeightsFile))
			b, _ := os.ReadFile(filepath.Join(c2.Out, "adapter", lora.WeightsFile))
			if len(a) == 0 || !slices.Equal(a, b) {
				t.Error("final adapters differ")
			}
		})
	}
}

func orNaN(p *float64) *float64 {
	if p == nil {
		n := math.NaN()
		return &n
	}
	return p
}

func TestCheckpointLayout(t *testing.T) {
	c := toyRun(t, toyModel(t, 1))
	c.MaxSteps, c.SaveEvery, c.KeepCheckpoints, c.EvalEvery = 8, 2, 2, 2
	_, rec := train(t, context.Background(), c, NewDataset(toyTask(20, 1), toyTask(4, 2)), false)
	steps, err := checkpointSteps(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	best := rec.of("done")[0].BestStep
	want := []int{6, 8}
	if best < 6 {
		want = []int{best, 6, 8}
	}
	if !slices.Equal(steps, want) {
		t.Errorf("kept checkpoints %v, want %v (newest 2 and the best, step %d)", steps, want, best)
	}
	dir := filepath.Join(c.Out, "checkpoints", "step-8")
	for _, f := range []string{"trainer_state.json", "optimizer.safetensors", "adapter/adapter_config.json", "adapter/adapter_model.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("checkpoint lacks %s", f)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(c.Out, "checkpoints"))
	for _, e := range ents {
		if e.Name()[0] == '.' {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
	if _, err := lora.ReadConfig(filepath.Join(c.Out, BestDir)); err != nil {
		t.Errorf("best adapter: %v", err)
	}
}

func TestEpochsAndEarlyStopping(t *testing.T) {
	base := toyModel(t, 1)
	c := toyRun(t, base)
	c.MaxSteps, c.Epochs, c.GradAccum = 0, 2, 2 // 12 examples, batches of 4: 3 per epoch, 6 in all, 3 steps
	res, rec := train(t, context.Background(), c, NewDataset(toyTask(12, 1), nil), false)
	if res.Steps != 3 || rec.of("done")[0].Epoch != 2 || rec.of("start")[0].MaxSteps != 3 {
		t.Errorf("2 epochs of 3 batches in steps of 2: %d steps, epoch %g", res.Steps, rec.of("done")[0].Epoch)
	}

	// A learning rate far too high makes validation worse after the first
	// evaluation; with patience 2 the run stops at the third.
	c = toyRun(t, base)
	c.LR, c.WarmupRatio, c.MaxGradNorm, c.EvalEvery, c.Patience, c.MaxSteps = 3, 0, 0, 1, 2, 50
	res, rec = train(t, context.Background(), c, NewDataset(toyTask(16, 1), toyTask(8, 2)), false)
	evals := rec.of("eval")
	if res.Status != runspec.StatusEarlyStopped || res.Steps >= 50 {
		t.Fatalf("status %s after %d steps (evals %d)", res.Status, res.Steps, len(evals))
	}
	last := evals[len(evals)-3:]
	if !last[0].Best || last[1].Best || last[2].Best || res.BestStep != last[0].Step {
		t.Errorf("stopped after evals %+v; want the best then two worse", last)
	}
	if _, err := os.Stat(filepath.Join(c.Out, AdapterDir)); err != nil {
		t.Errorf("an early-stopped run still publishes its adapter: %v", err)
	}
}

// TestBF16AutocastFull: --full under bf16 autocast keeps float32 masters
// (the tied embedding bound once, as input and head) and saves them as such.
func TestBF16AutocastFull(t *testing.T) {
	dir := t.TempDir()
	raw, _ := json.Marshal(toyConfig())
	cfgPath := filepath.Join(dir, "config.json")
	os.WriteFile(cfgPath, raw, 0o644)
	c := toyRun(t, "")
	c.InitConfig, c.Full, c.MaxSteps, c.LR, c.Precision = cfgPath, true, 40, 3e-3, "bf16"
	// The head in chunks of 7 positions: each chunk's backward passes the
	// embedding's one bf16 cast again, which must not have been freed.
	defer func(v int) { headValues = v }(headValues)
	headValues = 7 * toyConfig().VocabSize
	res, rec := train(t, context.Background(), c, NewDataset(toyTask(64, 1), nil), false)
	l := losses(rec.events)
	if first, last := mean(l[:5]), mean(l[35:]); !(last < 0.8*first) {
		t.Errorf("bf16 full training: loss %.3f → %.3f did not fall", first, last)
	}
	m, err := qwen2.Load(res.Output, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Config.TorchDType != "float32" {
		t.Errorf("saved torch_dtype %q, want the float32 masters", m.Config.TorchDType)
	}
}
