package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"medqa/trainer/eval"
	"medqa/trainer/lora"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

func init() {
	register("eval", "generate answers on a split, score them (F1, ROUGE, BLEU, perplexity) and write an HTML/JSON report", runEval)
}

// loadAdapter attaches a PEFT adapter directory (trainer/lora).
func loadAdapter(dir string, m *qwen2.Model, dt torch.DType) error {
	_, err := lora.Load(dir, m, dt)
	return err
}

func runEval(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	model := fs.String("model", "", "model directory (Hugging Face layout or medqa-quantized)")
	adapter := fs.String("adapter", "", "PEFT adapter directory to apply to --model")
	label := fs.String("label", "", "name of --model in the report (default: directory names)")
	cmpModel := fs.String("compare-model", "", "second model, reported side by side")
	cmpAdapter := fs.String("compare-adapter", "", "PEFT adapter for --compare-model")
	cmpLabel := fs.String("compare-label", "", "name of the second model in the report")
	dataDir := fs.String("data", "", "split directory written by `trainer data`")
	split := fs.String("split", "test", "split to evaluate: train, validation or test")
	limit := fs.Int("limit", 0, "evaluate the first N rows (0: all)")
	maxNew := fs.Int("max-new-tokens", 256, "tokens to generate per answer at most")
	batch := fs.Int("batch-size", 8, "prompts decoded together (and rows per perplexity pass)")
	maxLen := fs.Int("max-length", 512, "tokens per row for perplexity, as in training")
	temp := fs.Float64("temperature", 0, "sampling temperature; 0 is greedy")
	topP := fs.Float64("top-p", 1, "nucleus sampling mass (with --temperature)")
	topK := fs.Int("top-k", 0, "top-k sampling (with --temperature); 0 is off")
	seed := fs.Uint64("seed", 0, "sampling seed")
	noPPL := fs.Bool("no-perplexity", false, "skip the perplexity pass")
	worst := fs.Int("worst", 10, "worst-scoring examples shown in report.html")
	rag := fs.Bool("rag", false, "answer --model with retrieved passages in the prompt (index: the train split of --data only)")
	cmpRAG := fs.Bool("compare-rag", false, "answer --compare-model with retrieved passages in the prompt")
	out := fs.String("out", "", "report directory (report.json, report.html)")
	dtype := fs.String("dtype", "f32", "run dtype: f32, bf16, f16")
	device := fs.String("device", "cpu", "cpu, cuda or cuda:N")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *model == "" || *dataDir == "" || *out == "":
		return errors.New("--model, --data and --out are required")
	case *cmpAdapter != "" && *cmpModel == "":
		return errors.New("--compare-adapter needs --compare-model")
	case *maxNew <= 0:
		return errors.New("--max-new-tokens must be positive")
	}
	dt, dev, err := parseRuntime(*dtype, *device)
	if err != nil {
		return err
	}
	rows, err := eval.ReadSplit(*dataDir, *split, *limit)
	if err != nil {
		return err
	}
	type spec struct {
		dir, adapter, label string
		rag                 bool
	}
	specs := []spec{{*model, *adapter, *label, *rag}}
	if *cmpModel != "" {
		specs = append(specs, spec{*cmpModel, *cmpAdapter, *cmpLabel, *cmpRAG})
	} else if *cmpRAG {
		return errors.New("--compare-rag needs --compare-model")
	}
	// The hallucination rate checks gene symbols against every MedQuAD
	// answer of the row's focus, all splits included.
	all, err := eval.ReadSplits(*dataDir)
	if err != nil {
		return err
	}
	support := eval.NewGeneSupport(all)
	var ragRows []eval.Row
	var recall float64
	if *rag || *cmpRAG {
		g, err := eval.NewRAG(*dataDir, rows)
		if err != nil {
			return err
		}
		ragRows, recall = g.Augment(rows)
		fmt.Fprintf(os.Stderr, "eval: RAG index: %d passages of the train split (%d dropped: their answer is an evaluated reference); recall@%d %.2f%%\n",
			len(g.KB), g.Excluded, eval.RAGTopK, recall)
	}
	sampling := qwen2.Sampling{Temperature: *temp, TopP: *topP, TopK: *topK, Seed: *seed}
	decoding := "greedy"
	if *temp > 0 {
		decoding = fmt.Sprintf("sampled (temperature %g, top-p %g, top-k %d, seed %d)", *temp, *topP, *topK, *seed)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var results []eval.Result
	for _, sp := range specs {
		t, err := eval.Open(sp.dir, sp.adapter, loadAdapter, dt, dev)
		if err != nil {
			return err
		}
		if sp.label != "" {
			t.Label = sp.label
		}
		fmt.Fprintf(os.Stderr, "eval: %s: %d rows of %s, tokenizer from %s\n", t.Label, len(rows), filepath.Join(*dataDir, *split+".jsonl"), t.TokenizerSource)
		genRows := rows
		if sp.rag {
			genRows = ragRows
			t.Label += " + RAG"
		}
		preds, dur, err := eval.Generate(ctx, t, genRows, eval.GenOptions{MaxNewTokens: *maxNew, BatchSize: *batch, Sampling: sampling,
			Progress: func(done, total int) { fmt.Fprintf(os.Stderr, "eval: %s: generated %d/%d\n", t.Label, done, total) }})
		if err != nil {
			t.Close()
			return err
		}
		var nll []eval.NLL
		if !*noPPL {
			if nll, err = eval.AnswerNLL(t, rows, *batch, *maxLen); err != nil {
				t.Close()
				return err
			}
		}
		res := eval.Result{Target: t, Predictions: preds, NLL: nll, GenTime: dur, RAG: sp.rag}
		if sp.rag {
			res.RecallAt3 = &recall
		}
		results = append(results, res)
		t.Close()
	}
	if len(results) == 2 && results[0].Target.Label == results[1].Target.Label {
		results[1].Target.Label += " (2)"
	}
	rep, err := eval.Build(rows, results, eval.Settings{Data: *dataDir, Split: *split, Limit: *limit, MaxNewTokens: *maxNew,
		BatchSize: *batch, MaxLength: *maxLen, Decoding: decoding, DType: dt.String(), Device: dev.String()})
	if err != nil {
		return err
	}
	rep.Hallucination(rows, support)
	if err := rep.WriteDir(*out, *worst); err != nil {
		return err
	}
	for _, m := range rep.Models {
		o := m.Overall
		ppl := "—"
		if o.Perplexity != nil {
			ppl = fmt.Sprintf("%.3f", *o.Perplexity)
		}
		bleu := "—"
		if o.BLEU != nil {
			bleu = fmt.Sprintf("%.2f", *o.BLEU)
		}
		recall := ""
		if o.RetrievalRecallAt3 != nil {
			recall = fmt.Sprintf("  recall@3 %.2f", *o.RetrievalRecallAt3)
		}
		fmt.Printf("%s: n=%d F1 %.2f  ROUGE-1 %.2f  ROUGE-2 %.2f  ROUGE-L %.2f  ROUGE-Lsum %.2f  BLEU %s  sacreBLEU %.2f  ppl %s  hallucination %.2f (%d gene symbols)%s\n",
			m.Label, o.N, o.F1, o.Rouge1, o.Rouge2, o.RougeL, o.RougeLsum, bleu, o.SacreBLEU, ppl, *o.HallucinationRate, *o.GeneSymbols, recall)
	}
	fmt.Printf("report: %s, %s\n", filepath.Join(*out, "report.html"), filepath.Join(*out, "report.json"))
	return nil
}
