package gpucheck

import (
	"context"
	"os"
	"path/filepath"

	"medqa/trainer/lora"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// peftCheck exchanges adapters with PEFT both ways on the random Qwen2.5-0.5B-shaped model, in f32 on
// the device: PEFT loads the adapter medqa saved (random A and B, so it changes the logits) and gives
// medqa's logits; medqa loads an adapter PEFT saved (init_lora_weights=False: random B too) and gives
// PEFT's. The base model's logits are reported as well, to show the adapters matter.
func peftCheck(ctx context.Context, o Options) (*Obj, error) {
	p, err := o.probe(ctx)
	if err != nil {
		return nil, skip("%v", err)
	}
	if p.Transformers == nil || p.PEFT == nil {
		return nil, skip("transformers or peft is not installed for %s", o.Python)
	}
	model, c, err := randomModel(o)
	if err != nil {
		return nil, err
	}
	dir, err := o.dir("peft")
	if err != nil {
		return nil, err
	}
	rows := promptRows(2, 12, c.VocabSize)
	res := &Obj{}
	m, err := qwen2.Load(model, torch.Float32, o.Device)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	base := forward(m, rows)

	// medqa → PEFT.
	lc := lora.Config{R: 8, Alpha: 16, Targets: lora.Modules}
	if err := lora.Attach(m, lc, 1, torch.Float32); err != nil {
		return nil, err
	}
	torch.NoGrad(func() {
		for _, pr := range lora.Params(m) {
			if pr.IsB { // Attach starts B at zero (no change): make it count
				s := torch.NewScope()
				pr.Tensor().Copy_(torch.Randn(s, pr.Tensor().Shape(), torch.Float32, torch.CPU).MulScalar(s, 0.02))
				s.Close()
			}
		}
	})
	ours := forward(m, rows)
	adapter := filepath.Join(dir, "medqa-adapter")
	os.RemoveAll(adapter)
	if err := lora.Save(adapter, m, lc); err != nil {
		return nil, err
	}
	lora.Detach(m)
	peftAdapter := filepath.Join(dir, "peft-adapter")
	os.RemoveAll(peftAdapter)
	// One python process for both directions: importing transformers and loading the model take seconds.
	ls, err := o.refLogits(ctx, filepath.Join(dir, "peft"), "peft", []string{"load", "write"}, "--model", model,
		"--ids", idRows(rows), "--device", o.Device.String(), "--adapter", adapter, "--adapter-out", peftAdapter,
		"--rank", "8", "--alpha", "16")
	if err != nil {
		return nil, err
	}
	theirs, peftOwn := ls[0], ls[1]
	ok := true
	judge := func(name string, got, want []float32) error {
		d, err := compare(got, want, c.VocabSize)
		if err != nil {
			return err
		}
		pass := d.MaxRel <= f32Tol && d.Same == d.Rows
		ok = ok && pass
		res.Set(name, d.Obj().First("ok", pass))
		return nil
	}
	if err := judge("peft_loads_medqa", theirs, ours); err != nil {
		return nil, err
	}

	// PEFT → medqa.
	if _, err := lora.Load(peftAdapter, m, torch.Float32); err != nil {
		return nil, err
	}
	if err := judge("medqa_loads_peft", forward(m, rows), peftOwn); err != nil {
		return nil, err
	}
	if bd, err := compare(base, peftOwn, c.VocabSize); err == nil {
		res.Set("base_vs_adapted_max_abs_diff", sig(bd.MaxAbs)) // far above the errors: the adapters count
	}
	return res.First("ok", ok).Set("tolerance", f32Tol), nil
}
