package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"

	"medqa/trainer/eval"
	"medqa/trainer/quant"
	"medqa/trainer/torch"
)

func init() {
	register("quantize", "store a model with int8 or int4 weights (optionally measuring the perplexity change)", runQuantize)
}

// quantizeReport is the JSON line quantize prints.
type quantizeReport struct {
	quant.Summary
	Out           string   `json:"out"`
	PPLSource     *float64 `json:"ppl_source,omitempty"`
	PPLQuantized  *float64 `json:"ppl_quantized,omitempty"`
	PPLDeltaPct   *float64 `json:"ppl_delta_pct,omitempty"`
	PPLRows       int      `json:"ppl_rows,omitempty"`
	PPLTokens     int      `json:"ppl_tokens,omitempty"`
	PPLSplit      string   `json:"ppl_split,omitempty"`
	PPLRunDType   string   `json:"ppl_dtype,omitempty"`
	SizeRatioF32  float64  `json:"size_ratio_vs_f32"`
	BitsPerWeight float64  `json:"bits_per_weight"`
}

func runQuantize(args []string) error {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	model := fs.String("model", "", "source model directory (Hugging Face layout, or already quantized)")
	out := fs.String("out", "", "output directory (must not exist or be empty)")
	bits := fs.Int("bits", 8, "8 (per-output-channel symmetric int8) or 4 (group-wise int4 with zero points)")
	group := fs.Int("group", 32, "int4 group size: 32 or 64")
	dataDir := fs.String("data", "", "split directory: measure perplexity on reference answers before and after")
	split := fs.String("split", "validation", "split for --data")
	limit := fs.Int("limit", 200, "rows of --split to measure (0: all)")
	batch := fs.Int("batch-size", 4, "rows per forward pass when measuring")
	maxLen := fs.Int("max-length", 512, "tokens per row when measuring, as in training")
	dtype := fs.String("dtype", "f32", "run dtype for measuring")
	device := fs.String("device", "cpu", "cpu, cuda or cuda:N")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		return errors.New("--model and --out are required")
	}
	sum, err := quant.Quantize(*model, *out, quant.Options{Bits: *bits, Group: *group})
	if err != nil {
		return err
	}
	rep := quantizeReport{Summary: sum, Out: *out, SizeRatioF32: float64(sum.QuantBytes) / float64(sum.F32Bytes),
		BitsPerWeight: 8 * float64(sum.QuantBytes) / float64(sum.Params)}
	fmt.Fprintf(os.Stderr, "quantize: %d params, %s as f32 (%s stored) -> %s (%.2f bits/weight, %.1f%% of f32)\n",
		sum.Params, quant.HumanBytes(sum.F32Bytes), quant.HumanBytes(sum.SourceBytes), quant.HumanBytes(sum.QuantBytes),
		rep.BitsPerWeight, 100*rep.SizeRatioF32)
	if *dataDir != "" {
		dt, dev, err := parseRuntime(*dtype, *device)
		if err != nil {
			return err
		}
		rows, err := eval.ReadSplit(*dataDir, *split, *limit)
		if err != nil {
			return err
		}
		var ppl [2]float64
		var toks int
		for i, dir := range []string{*model, *out} {
			p, n, err := splitPerplexity(dir, rows, *batch, *maxLen, dt, dev)
			if err != nil {
				return fmt.Errorf("%s: %w", dir, err)
			}
			ppl[i], toks = p, n
		}
		d := 100 * (ppl[1] - ppl[0]) / ppl[0]
		rep.PPLSource, rep.PPLQuantized, rep.PPLDeltaPct = &ppl[0], &ppl[1], &d
		rep.PPLRows, rep.PPLTokens, rep.PPLSplit, rep.PPLRunDType = len(rows), toks, *split, dt.String()
		fmt.Fprintf(os.Stderr, "quantize: %s perplexity on %d rows (%d answer tokens): %.4f -> %.4f (%+.2f%%)\n",
			*split, len(rows), toks, ppl[0], ppl[1], d)
	}
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	return nil
}

// splitPerplexity is exp(Σ NLL / Σ tokens) of rows' reference answers under
// the model in dir.
func splitPerplexity(dir string, rows []eval.Row, batch, maxLen int, dt torch.DType, dev torch.Device) (float64, int, error) {
	t, err := eval.Open(dir, "", nil, dt, dev)
	if err != nil {
		return 0, 0, err
	}
	defer t.Close()
	nll, err := eval.AnswerNLL(t, rows, batch, maxLen)
	if err != nil {
		return 0, 0, err
	}
	var sum float64
	var n int
	for _, x := range nll {
		sum, n = sum+x.Sum, n+x.Tokens
	}
	if n == 0 {
		return 0, 0, errors.New("no answer tokens to measure")
	}
	return math.Exp(sum / float64(n)), n, nil
}
