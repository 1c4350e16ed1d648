package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"medqa/wasm/metrics"
)

func init() {
	register("score", "score predictions against references (ROUGE, BLEU, sacreBLEU, SQuAD) from JSON lines on stdin", runScore)
}

func runScore(args []string) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	corpus := fs.Bool("corpus", false, "score all lines as one corpus and write one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: trainer score [--corpus] < pairs.jsonl

Reads one {"prediction": "...", "references": ["...", ...]} object per line.
Writes one JSON line per input with rouge, rouge_stemmed, squad, bleu,
sacrebleu and sacrebleu_sentence; with --corpus, one object with bleu,
sacrebleu, squad (percent), rouge_mean and rouge_stemmed_mean.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (input comes from stdin)", fs.Arg(0))
	}
	out := bufio.NewWriter(os.Stdout)
	if err := score(os.Stdin, out, "stdin", *corpus); err != nil {
		return err
	}
	return out.Flush()
}

// score reads every pair before writing anything, so bad input produces an
// error and no partial output.
func score(in io.Reader, out io.Writer, name string, corpus bool) error {
	preds, refs, err := readPairs(in, name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	if corpus {
		if len(preds) == 0 {
			return fmt.Errorf("%s: no pairs to score", name)
		}
		c, err := metrics.Corpus(preds, refs)
		if err != nil {
			return err
		}
		return enc.Encode(c)
	}
	for i := range preds {
		s, err := metrics.Score(preds[i], refs[i])
		if err != nil {
			return err
		}
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return nil
}

// readPairs parses JSON lines, naming the line of any error. Blank lines are
// skipped; fields other than prediction and references are ignored.
func readPairs(in io.Reader, name string) ([]string, [][]string, error) {
	r := bufio.NewReader(in)
	var preds []string
	var refs [][]string
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			var p struct {
				Prediction *string    `json:"prediction"`
				References *[]*string `json:"references"`
			}
			if jerr := json.Unmarshal(t, &p); jerr != nil {
				return nil, nil, fmt.Errorf("%s:%d: invalid JSON: %v", name, line, jerr)
			}
			switch {
			case p.Prediction == nil:
				return nil, nil, fmt.Errorf(`%s:%d: missing "prediction"`, name, line)
			case p.References == nil:
				return nil, nil, fmt.Errorf(`%s:%d: missing "references"`, name, line)
			case len(*p.References) == 0:
				return nil, nil, fmt.Errorf(`%s:%d: "references" is empty`, name, line)
			}
			rs := make([]string, len(*p.References))
			for i, r := range *p.References {
				if r == nil {
					return nil, nil, fmt.Errorf(`%s:%d: "references"[%d] is null`, name, line, i)
				}
				rs[i] = *r
			}
			preds = append(preds, *p.Prediction)
			refs = append(refs, rs)
		}
		if errors.Is(err, io.EOF) {
			return preds, refs, nil
		}
	}
}
