package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"medqa/trainer/atomicfile"
	"medqa/wasm/metrics"
)

// Output is one model's answer to one row, with its scores.
type Output struct {
	Prediction
	Scores     Scores   `json:"scores"`
	NLL        NLL      `json:"nll"`
	Perplexity *float64 `json:"perplexity"` // of the reference answer under this model
}

// Example is one row with every model's output, in Report.Models order.
type Example struct {
	ID        string   `json:"id"`
	QType     string   `json:"qtype"`
	Source    string   `json:"source"`
	Question  string   `json:"question"`
	Reference string   `json:"reference"`
	Outputs   []Output `json:"outputs"`
}

// ModelReport is one model's results.
type ModelReport struct {
	Label           string               `json:"label"`
	Model           string               `json:"model"`
	Adapter         string               `json:"adapter,omitempty"`
	Tokenizer       string               `json:"tokenizer"`
	RAG             bool                 `json:"rag"` // answered with retrieved passages in the prompt
	Overall         Summary              `json:"overall"`
	Corpus          metrics.CorpusScores `json:"corpus"` // the metrics package's own corpus result
	ByQType         []Group              `json:"by_qtype"`
	BySource        []Group              `json:"by_source"`
	GenerateSeconds float64              `json:"generate_seconds"`
	TokensPerSecond float64              `json:"generated_tokens_per_s"`
}

// Settings records how the evaluation ran.
type Settings struct {
	Data         string `json:"data"`
	Split        string `json:"split"`
	Limit        int    `json:"limit"`
	MaxNewTokens int    `json:"max_new_tokens"`
	BatchSize    int    `json:"batch_size"`
	MaxLength    int    `json:"max_length"`
	Decoding     string `json:"decoding"`
	DType        string `json:"dtype"`
	Device       string `json:"device"`
}

// Report is report.json.
type Report struct {
	Created  string        `json:"created"`
	Settings Settings      `json:"settings"`
	Models   []ModelReport `json:"models"`
	Examples []Example     `json:"examples"`
}

// Result is what evaluating one model produced.
type Result struct {
	Target      *Target
	Predictions []Prediction
	NLL         []NLL
	GenTime     time.Duration
	// RAG: the prompts held retrieved passages; RecallAt3 is their
	// retrieval_recall_at_3.
	RAG       bool
	RecallAt3 *float64
}

// Build scores every result and assembles the report.
func Build(rows []Row, results []Result, set Settings) (*Report, error) {
	if len(results) == 0 {
		return nil, errors.New("eval: no models")
	}
	r := &Report{Created: time.Now().UTC().Format(time.RFC3339), Settings: set}
	for _, row := range rows {
		r.Examples = append(r.Examples, Example{ID: row.ID, QType: row.QType, Source: row.Source,
			Question: row.Question, Reference: row.Reference()})
	}
	for _, res := range results {
		if len(res.Predictions) != len(rows) || (res.NLL != nil && len(res.NLL) != len(rows)) {
			return nil, fmt.Errorf("eval: %s: %d predictions and %d NLLs for %d rows", res.Target.Label, len(res.Predictions), len(res.NLL), len(rows))
		}
		outs := make([]Output, len(rows))
		gen := 0
		for i, p := range res.Predictions {
			sc, err := ScoreOne(p.Text, rows[i].Reference())
			if err != nil {
				return nil, fmt.Errorf("row %s: %w", rows[i].ID, err)
			}
			outs[i] = Output{Prediction: p, Scores: sc}
			if res.NLL != nil {
				outs[i].NLL, outs[i].Perplexity = res.NLL[i], rowPerplexity(res.NLL[i])
			}
			gen += p.Tokens
			r.Examples[i].Outputs = append(r.Examples[i].Outputs, outs[i])
		}
		all := make([]int, len(rows))
		for i := range all {
			all[i] = i
		}
		m := ModelReport{Label: res.Target.Label, Model: res.Target.Dir, Adapter: res.Target.Adapter,
			Tokenizer: res.Target.TokenizerSource, GenerateSeconds: res.GenTime.Seconds(), RAG: res.RAG}
		var err error
		if m.Overall, err = summarize(rows, outs, all); err != nil {
			return nil, err
		}
		m.Corpus = *m.Overall.corpusScores
		m.Overall.RetrievalRecallAt3 = res.RecallAt3
		if m.ByQType, err = groups(rows, outs, func(r Row) string { return r.QType }); err != nil {
			return nil, err
		}
		if m.BySource, err = groups(rows, outs, func(r Row) string { return r.Source }); err != nil {
			return nil, err
		}
		if s := res.GenTime.Seconds(); s > 0 {
			m.TokensPerSecond = float64(gen) / s
		}
		r.Models = append(r.Models, m)
	}
	return r, nil
}

// ReportFiles are what WriteDir writes, and the only files it replaces.
var ReportFiles = []string{"report.json", "report.html"}

// WriteDir writes report.json and report.html into out, whole or not at
// all: a fresh directory beside out takes its place. An existing out is
// replaced only if it holds nothing but report files.
func (r *Report) WriteDir(out string, worst int) (err error) {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	var html bytes.Buffer
	if err := r.HTML(&html, worst); err != nil {
		return err
	}
	out = filepath.Clean(out)
	if ents, err := os.ReadDir(out); err == nil {
		for _, e := range ents {
			if e.Name() != ReportFiles[0] && e.Name() != ReportFiles[1] {
				return fmt.Errorf("--out %s holds %s; refusing to replace a directory that is not an eval report", out, e.Name())
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp, err := atomicfile.TempDir(out)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.WriteFile(filepath.Join(tmp, "report.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "report.html"), html.Bytes(), 0o644); err != nil {
		return err
	}
	return atomicfile.ReplaceDir(tmp, out)
}
