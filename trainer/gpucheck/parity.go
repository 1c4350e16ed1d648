package gpucheck

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// Tolerances on max |Δ|/(1+|reference|). f32 against an f32 or f64 reference leaves only rounding.
// bf16 keeps 8 bits of mantissa: its bound is what transformers' own bf16 run loses against the same
// f32 reference, twice over; where transformers is absent, bf16Tol, a loose bound that catches a wrong
// computation (errors of order 1), not a lost factor of precision. For scale: the random
// Qwen2.5-0.5B-shaped model (24 layers) in bf16 lands 0.062 from its f32 logits on this project's CPU.
const (
	f32Tol  = 1e-3
	bf16Tol = 0.15
)

// parity compares medqa's logits on the device, in f32 and bf16, for tiny-qwen2 and a random
// Qwen2.5-0.5B-shaped model, with transformers on the same device; without transformers, with
// tiny-qwen2's shipped reference logits (transformers', computed when the fixture was made) and the
// project's PyTorch-eager peer in float64.
func parity(ctx context.Context, o Options) (*Obj, error) {
	res := (&Obj{}).Set("device", o.Device.String()).Set("torch", firstLine(torch.Version()))
	p, perr := o.probe(ctx)
	useTF := perr == nil && p.Transformers != nil
	switch {
	case useTF:
		res.Set("reference", "transformers "+*p.Transformers+" on "+o.Device.String())
		if p.DeviceName != "" {
			res.Set("device_name", p.DeviceName)
		}
	case perr == nil:
		res.Set("reference", "tiny-qwen2 reference logits + PyTorch-eager peer (float64, CPU); transformers not installed")
	default:
		res.Set("reference", "tiny-qwen2 reference logits only: "+perr.Error())
	}
	dir, err := o.dir("parity")
	if err != nil {
		return res, err
	}
	ok := true

	// tiny-qwen2: its own sequences, whose transformers logits ship with it.
	tiny := o.tinyDir()
	var fx struct {
		Sequences [][]int64     `json:"sequences"`
		Logits    [][][]float64 `json:"logits"`
	}
	raw, err := os.ReadFile(filepath.Join(tiny, "reference_logits.json"))
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		return res, fmt.Errorf("%s: %v", filepath.Join(tiny, "reference_logits.json"), err)
	}
	var shipped []float32
	for _, seq := range fx.Logits {
		for _, row := range seq {
			for _, v := range row {
				shipped = append(shipped, float32(v))
			}
		}
	}
	refs := map[string][]float32{"fixture": shipped}
	m, err := parityModel(ctx, o, dir, "tiny-qwen2", tiny, fx.Sequences, refs, useTF, false)
	res.Set("tiny-qwen2", m)
	if err != nil {
		return res, err
	}
	ok = ok && verdict(m)

	// The random Qwen2.5-0.5B-shaped model (tied embeddings, 7:1 grouped-query attention, rope 1e6).
	rdir, c, err := randomModel(o)
	if err != nil {
		return res, err
	}
	rows := promptRows(2, 16, c.VocabSize)
	refs = map[string][]float32{}
	if !useTF && perr == nil {
		if refs["peer"], err = o.peerLogits(ctx, rdir, rows); err != nil {
			return res, err
		}
	}
	m, err = parityModel(ctx, o, dir, shapeName(o.Small()), rdir, rows, refs, useTF, true)
	res.Set(shapeName(o.Small()), m)
	if err != nil {
		return res, err
	}
	ok = ok && verdict(m)
	return res.First("ok", ok), nil
}

// parityModel runs one model in f32 and bf16 against every reference: the f32 ones in refs (shipped
// or peer logits) and, with transformers, its f32 and bf16 logits on the device.
func parityModel(ctx context.Context, o Options, dir, name, model string, rows [][]int64, refs map[string][]float32,
	useTF, random bool) (*Obj, error) {
	res := &Obj{}
	c, err := qwen2.LoadConfig(filepath.Join(model, "config.json"))
	if err != nil {
		return res, err
	}
	var tfBF16 []float32
	if useTF {
		ls, err := o.refLogits(ctx, filepath.Join(dir, name+".transformers"), "logits", []string{"f32", "bf16"},
			"--model", model, "--ids", idRows(rows), "--device", o.Device.String(), "--dtypes", "f32,bf16")
		if err != nil {
			return res, err
		}
		refs["transformers"], tfBF16 = ls[0], ls[1]
	}
	if len(refs) == 0 {
		return res.Set("ok", nil).Set("reason", "no reference for this model here (no python with torch)"), nil
	}
	ok := true
	for _, dt := range []torch.DType{torch.Float32, torch.BFloat16} {
		m, err := qwen2.Load(model, dt, o.Device)
		if err != nil {
			return res, err
		}
		got := forward(m, rows)
		m.Close()
		per := &Obj{}
		for _, refName := range []string{"transformers", "fixture", "peer"} {
			want, has := refs[refName]
			if !has {
				continue
			}
			d, err := compare(got, want, c.VocabSize)
			if err != nil {
				return res, err
			}
			obj := d.Obj()
			tol := f32Tol
			if dt == torch.BFloat16 {
				tol = bf16Tol
				if refName == "transformers" {
					// transformers' own bf16 run against its f32 run: the loss bf16 itself causes.
					own, err := compare(tfBF16, want, c.VocabSize)
					if err != nil {
						return res, err
					}
					obj.Set("transformers_bf16_max_rel_err", sig(own.MaxRel))
					tol = max(2*own.MaxRel, 1e-2)
					if md, err := compare(got, tfBF16, c.VocabSize); err == nil {
						obj.Set("vs_transformers_bf16", md.Obj())
					}
				}
			}
			pass := d.MaxRel <= tol
			if dt == torch.Float32 {
				pass = pass && d.Same == d.Rows // greedy tokens: exact in f32; bf16 near-ties may flip
			}
			obj.First("ok", pass).Set("tolerance", sig(tol))
			ok = ok && pass
			per.Set("vs_"+refName, obj)
		}
		res.Set(map[torch.DType]string{torch.Float32: "f32", torch.BFloat16: "bf16"}[dt], per)
	}
	return res.First("ok", ok), nil
}

// verdict reads a result object's ok: true passes, false fails, null (skipped) passes.
func verdict(o *Obj) bool {
	v, _ := o.Get("ok")
	b, isBool := v.(bool)
	return !isBool || b
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
