package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"medqa/trainer/data"
	"medqa/wasm/retrieve"
)

func init() {
	register("data", "load, clean and split Q&A files into train/validation/test JSONL", runData)
}

// inputList collects repeated --input flags.
type inputList []string

func (l *inputList) String() string     { return strings.Join(*l, ",") }
func (l *inputList) Set(v string) error { *l = append(*l, v); return nil }

func runData(args []string) error {
	fs := flag.NewFlagSet("data", flag.ContinueOnError)
	var inputs inputList
	fs.Var(&inputs, "input", "input `FILE`: .csv (question,answer[,qtype,focus,source]) or PubMedQA .json, optionally .gz; repeat to concatenate")
	out := fs.String("out", "", "output `DIR` for train/validation/test.jsonl and stats.json (replaced whole; created if missing)")
	seed := fs.Uint64("seed", 42, "seed of the split")
	val := fs.Float64("validation", 0.09, "fraction of rows for validation")
	test := fs.Float64("test", 0.10, "fraction of rows for test")
	withContext := fs.Bool("pubmedqa-context", false, "put PubMedQA's abstract before the question in the user turn")
	rag := fs.Bool("rag", false, "put the top 3 passages retrieved from the train split (never the row's own answer) into each user turn (docs/retrieval.md)")
	system := fs.String("system-prompt", data.DefaultSystemPrompt, "system turn of every conversation (empty: no system turn)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: trainer data --input FILE [--input FILE …] --out DIR [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (inputs go after --input)", fs.Arg(0))
	}
	if len(inputs) == 0 || *out == "" {
		fs.Usage()
		return errors.New("--input and --out are required")
	}
	ds, err := data.Build(data.Config{
		Inputs:       inputs,
		Split:        data.SplitConfig{Seed: *seed, Validation: *val, Test: *test},
		Load:         data.LoadOptions{PubMedQAContext: *withContext},
		SystemPrompt: *system,
	})
	if err != nil {
		return err
	}
	if *rag {
		ds.AddRAG(retrieve.DefaultK)
	}
	if err := ds.WriteDir(*out); err != nil {
		return err
	}
	ds.Stats.Summary(os.Stdout)
	fmt.Printf("wrote %s/{train,validation,test}.jsonl and %s/%s\n", *out, *out, data.StatsFile)
	return nil
}
