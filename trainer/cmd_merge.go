package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"medqa/trainer/lora"
	"medqa/trainer/modeldir"
	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

func init() {
	register("merge", "fold a LoRA adapter into its base model (Hugging Face directory out)", runMerge)
}

func runMerge(args []string) (err error) {
	fl := flag.NewFlagSet("merge", flag.ContinueOnError)
	base := fl.String("model", "", "base model directory (Hugging Face layout, or a medqa int8/int4 one: dequantized first)")
	adapter := fl.String("adapter", "", "adapter directory in PEFT layout (adapter_config.json + adapter_model.safetensors)")
	out := fl.String("out", "", "output model directory (replaced atomically)")
	dtype := fl.String("dtype", "f32", "stored dtype of the merged weights: f32, bf16 or f16 (the merge itself runs in float32)")
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), `usage: trainer merge --model BASE --adapter DIR --out DIR [--dtype f32]

Writes W + scale·B·A for every adapted layer into a Hugging Face model
directory: config.json, generation_config.json, model.safetensors and the
base model's tokenizer files (the embedded Qwen2.5 tokenizer if it has none).
A quantized base (the base of a QLoRA run) is dequantized, merged in float32
and written dense, as PEFT merges into a 4-bit base; quantize the result again
to serve it small.

`)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	if *base == "" || *adapter == "" || *out == "" {
		return errors.New("--model, --adapter and --out are required")
	}
	dt, err := torch.ParseDType(*dtype)
	if err != nil {
		return fmt.Errorf("--dtype: %v", err)
	}
	// The merge adds to the weights: a quantized base is dequantized first.
	m, err := modeldir.LoadFloat(*base, torch.Float32, torch.CPU)
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := lora.Load(*adapter, m, torch.Float32)
	if err != nil {
		return err
	}
	if err := lora.Merge(m); err != nil {
		return err
	}
	if dt != torch.Float32 {
		m2, err := convert(m, dt)
		if err != nil {
			return err
		}
		defer m2.Close()
		m = m2
	}
	if err := modeldir.Write(*out, m, *base, ""); err != nil {
		return err
	}
	from := ""
	if qc, _ := quant.ReadConfig(*base); qc != nil {
		from = fmt.Sprintf(" over the int%d base, dequantized", qc.Bits)
	}
	fmt.Fprintf(os.Stderr, "merged %d adapted layers (r=%d, alpha=%g, %v)%s into %s (%v)\n",
		countTargets(m, c), c.R, c.Alpha, c.Targets, from, *out, dt)
	return nil
}

// convert copies m's weights into a new model of dtype dt.
func convert(m *qwen2.Model, dt torch.DType) (out *qwen2.Model, err error) {
	defer torch.Recover(&err)
	ws := map[string]*torch.Tensor{}
	for _, p := range m.Params() {
		ws[p.Name] = p.Tensor.ToDType(nil, dt)
	}
	return qwen2.New(m.Config, ws, dt, m.Device)
}

func countTargets(m *qwen2.Model, c lora.Config) int {
	return len(m.Layers) * len(c.Targets)
}
