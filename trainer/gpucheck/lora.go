package gpucheck

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"medqa/trainer/data"
	"medqa/trainer/runspec"
	"medqa/trainer/sft"
)

// loraShape is the training benchmark: the T=512, batch 8 on CUDA; on the CPU a few short
// sequences, enough to see the loss fall.
func loraShape(small bool) (batch, seq, warmup, steps int) {
	if small {
		return 2, 32, 1, 3
	}
	return 8, 512, 2, 6
}

const loraLR = 1e-3 // high enough that a few steps on one repeated batch visibly lower the loss

// loraCheck trains rank-16 all-linear LoRA adapters with medqa's own training loop (sft.Run: bf16
// autocast on CUDA, AdamW, clipping at 1) on one repeated batch, and reports tokens/s over the steps
// after warm-up, beside transformers + PEFT doing the same steps in the same run. ok: the loss fell
// (and, with the peer, both runs finished); the 1.5x goal over PEFT is reported, not enforced.
func loraCheck(ctx context.Context, o Options) (*Obj, error) {
	model, c, err := randomModel(o)
	if err != nil {
		return nil, err
	}
	dir, err := o.dir("lora")
	if err != nil {
		return nil, err
	}
	B, T, warmup, steps := loraShape(o.Small())
	res := (&Obj{}).Set("shape", shapeName(o.Small())).Set("batch", B).Set("seq", T).Set("rank", 16).
		Set("precision", map[bool]string{true: "bf16-autocast", false: "f32"}[o.Device.IsCUDA()])
	var exs []data.Example
	for _, r := range promptRows(B, T, c.VocabSize) {
		ex := data.Example{InputIDs: make([]int32, T), AttentionMask: make([]int32, T), Labels: make([]int32, T)}
		for i, id := range r {
			ex.InputIDs[i], ex.AttentionMask[i], ex.Labels[i] = int32(id), 1, int32(id)
		}
		exs = append(exs, ex)
	}
	cfg := sft.Defaults()
	cfg.Model, cfg.Data, cfg.Out = model, "synthetic (gpucheck)", filepath.Join(dir, "run")
	cfg.MaxSteps, cfg.BatchSize, cfg.MaxLength, cfg.GroupByLength = warmup+steps, B, T, false
	cfg.LoraR, cfg.LoraAlpha, cfg.TargetModules = 16, 32, "all-linear"
	cfg.LR, cfg.Schedule, cfg.WarmupSteps, cfg.WarmupRatio, cfg.WeightDecay = loraLR, "constant", 0, 0, 0
	cfg.EvalEvery, cfg.SaveEvery, cfg.LogEvery, cfg.Seed = 0, 0, 1, 0
	cfg.Device = o.Device.String()
	cfg.Precision = map[bool]string{true: "bf16", false: "f32"}[o.Device.IsCUDA()]
	os.RemoveAll(cfg.Out)
	var losses, elapsed []float64
	_, err = sft.Run(ctx, cfg, sft.NewDataset(exs, nil), sft.Options{OnEvent: func(e runspec.Event) {
		if e.Type == "step" && e.Loss != nil {
			losses = append(losses, *e.Loss)
			elapsed = append(elapsed, e.ElapsedS)
		}
	}})
	if err != nil {
		return res, err
	}
	if len(losses) != warmup+steps {
		return res, fmt.Errorf("medqa logged %d steps, want %d", len(losses), warmup+steps)
	}
	medqa := float64(B*T*steps) / (elapsed[len(elapsed)-1] - elapsed[warmup-1])
	fell := losses[len(losses)-1] < losses[0]
	res.Set("medqa_tokens_per_s", round(medqa, 1)).Set("medqa_loss_first", round(losses[0], 4)).
		Set("medqa_loss_last", round(losses[len(losses)-1], 4))
	ok := fell
	if !fell {
		res.Set("reason", "medqa's loss did not fall")
	}

	p, perr := o.probe(ctx)
	switch {
	case perr != nil:
		res.Set("peft", "not run: "+perr.Error())
	case p.Transformers == nil || p.PEFT == nil:
		res.Set("peft", "not run: transformers or peft is not installed")
	default:
		raw, err := o.python(ctx, "ref.py", "lora-bench", "--model", model, "--batch", strconv.Itoa(B), "--seq", strconv.Itoa(T),
			"--rank", "16", "--alpha", "32", "--warmup", strconv.Itoa(warmup), "--steps", strconv.Itoa(steps),
			"--lr", strconv.FormatFloat(loraLR, 'g', -1, 64), "--device", o.Device.String())
		if err != nil {
			return res.First("ok", false), err
		}
		var peer struct {
			TokensPerS float64   `json:"tokens_per_s"`
			Losses     []float64 `json:"losses"`
			PeakMemGB  *float64  `json:"peak_mem_gb"`
		}
		if err := json.Unmarshal(raw, &peer); err != nil || len(peer.Losses) == 0 {
			return res.First("ok", false), fmt.Errorf("ref.py lora-bench: %v in %q", err, raw)
		}
		ratio := medqa / peer.TokensPerS
		res.Set("peft_tokens_per_s", round(peer.TokensPerS, 1)).Set("peft_loss_first", round(peer.Losses[0], 4)).
			Set("peft_loss_last", round(peer.Losses[len(peer.Losses)-1], 4)).Set("ratio", round(ratio, 2)).
			Set("goal_ratio", 1.5).Set("meets_goal", ratio >= 1.5)
		if peer.PeakMemGB != nil {
			res.Set("peft_peak_mem_gb", round(*peer.PeakMemGB, 2))
		}
	}
	return res.First("ok", ok), nil
}
