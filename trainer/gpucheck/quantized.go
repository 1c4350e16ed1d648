package gpucheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// quantized writes int8 and int4 copies of the random Qwen2.5-0.5B-shaped model (medqa's own format),
// loads each on the device in its dtype and generates greedily. ok: every token came, the logits are
// finite and, on CUDA, they match the same quantized model run in f32 on the CPU (bf16 tolerance).
// How far each lands from the unquantized f32 model is reported too.
func quantized(ctx context.Context, o Options) (*Obj, error) {
	model, c, err := randomModel(o)
	if err != nil {
		return nil, err
	}
	dir, err := o.dir("quantized")
	if err != nil {
		return nil, err
	}
	rows := promptRows(1, 16, c.VocabSize)
	var f32 []float32
	func() {
		var m *qwen2.Model
		if m, err = qwen2.Load(model, torch.Float32, torch.CPU); err == nil {
			f32 = forward(m, rows)
			m.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	_, gen := decodeShape(o.Small())
	res := (&Obj{}).Set("shape", shapeName(o.Small())).Set("dtype", o.DType().String())
	ok := true
	for _, bits := range []int{8, 4} {
		qdir := filepath.Join(dir, fmt.Sprintf("int%d", bits))
		if _, err := os.Stat(filepath.Join(qdir, "config.json")); err != nil {
			os.RemoveAll(qdir)
			if _, err := quant.Quantize(model, qdir, quant.Options{Bits: bits}); err != nil {
				return res, fmt.Errorf("int%d: %v", bits, err)
			}
		}
		r, err := quantRun(ctx, o, qdir, rows, f32, gen, c.VocabSize)
		if err != nil {
			return res, fmt.Errorf("int%d: %v", bits, err)
		}
		res.Set(fmt.Sprintf("int%d", bits), r)
		ok = ok && verdict(r)
	}
	return res.First("ok", ok), nil
}

func quantRun(ctx context.Context, o Options, qdir string, rows [][]int64, f32 []float32, gen, vocab int) (*Obj, error) {
	m, err := quant.Load(qdir, o.DType(), o.Device)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	got := forward(m, rows)
	r, err := timedGenerate(ctx, m, rows, gen)
	if err != nil {
		return nil, err
	}
	ok := verdict(r) && finite(got)
	if !finite(got) {
		r.Set("reason", "non-finite logits")
	}
	if d, err := compare(got, f32, vocab); err == nil {
		r.Set("vs_f32", d.Obj())
	}
	if o.Device.IsCUDA() {
		cpu, err := quant.Load(qdir, torch.Float32, torch.CPU)
		if err != nil {
			return nil, err
		}
		want := forward(cpu, rows)
		cpu.Close()
		d, err := compare(got, want, vocab)
		if err != nil {
			return nil, err
		}
		pass := d.MaxRel <= bf16Tol
		r.Set("vs_cpu_f32", d.Obj().First("ok", pass).Set("tolerance", bf16Tol))
		ok = ok && pass
	}
	return r.First("ok", ok), nil
}
