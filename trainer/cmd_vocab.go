package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"medqa/trainer/data"
	"medqa/trainer/vocab"
)

func init() {
	register("vocab", "trim a tokenizer to the tokens a training split uses", runVocab)
}

func runVocab(args []string) error {
	fl := flag.NewFlagSet("vocab", flag.ContinueOnError)
	src := fl.String("tokenizer", "assets/tokenizer/qwen2.5", "source tokenizer folder (tokenizer.json[.gz] + tokenizer_config.json)")
	dataArg := fl.String("data", "", "split folder (its train.jsonl is read) or a .jsonl file; repeat the flag via extra arguments for more files")
	out := fl.String("out", "", "output folder (created or replaced whole)")
	minCount := fl.Int("min-count", 1, "drop corpus tokens seen fewer times than this (1 keeps every used token, and the corpus encodes exactly as before)")
	system := fl.String("system", data.DefaultSystemPrompt, "the chat template's default system prompt (empty: keep the source's)")
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), `usage: trainer vocab --data SPLITDIR|FILE.jsonl [FILE.jsonl...] --out DIR [--tokenizer DIR] [--min-count N]

Keeps the byte tokens, the added tokens, every token of the training
sequences (chat template and system prompt included) and the merges that
build them; renumbers the ids without gaps (added tokens last) and writes
tokenizer.json, tokenizer_config.json and vocab_map.json (new id -> source id).

`)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *dataArg == "" || *out == "" {
		return errors.New("--data and --out are required")
	}
	files := []string{*dataArg}
	if st, err := os.Stat(*dataArg); err == nil && st.IsDir() {
		files = []string{filepath.Join(*dataArg, data.SplitTrain+".jsonl")}
	}
	files = append(files, fl.Args()...)
	outFiles, trimmed, rep, err := vocab.Build(*src, files, *minCount, *system)
	if err != nil {
		return err
	}
	if err := vocab.WriteDir(*out, outFiles); err != nil {
		return err
	}
	st := trimmed.Stats
	fmt.Printf("corpus: %d rows, %d tokens, %d distinct model tokens (%s)\n", rep.Source.Rows, rep.Source.Tokens, st.Used, files)
	fmt.Printf("kept: %d model tokens (%d rare dropped, %d added by bytes and merge closure) + %d added tokens = %d ids (source %d); %d of %d merges\n",
		st.ModelTokens, st.Rare, st.Closure, st.IDs-st.ModelTokens, st.IDs, st.SourceIDs, st.Merges, st.SourceMerge)
	fmt.Printf("trimmed encoding: %d tokens (%+.2f%%)\n", rep.Trimmed.Tokens, 100*(float64(rep.Trimmed.Tokens)/float64(rep.Source.Tokens)-1))
	fmt.Printf("wrote %s\n", *out)
	return nil
}
