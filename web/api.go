package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"medqa/trainer/runspec"
)

// The pages read runs in the shape of the backend's admin API, whether the server that mounts
// them reads its own store (it encodes what the API would answer) or the Workers front reads
// the API over HTTP: one contract, decoded here.
//
//	GET /api/runs              {"runs": [run…]}
//	GET /api/runs/{id}         {"run": run, "events": [event…], "models": [model…]}
//	GET /api/runs/{id}/report  report.json of `trainer eval`

type apiRun struct {
	ID          int64           `json:"id"`
	Status      string          `json:"status"`
	Stage       string          `json:"stage"`
	Config      json.RawMessage `json:"config"`
	Error       string          `json:"error"`
	CreatedAt   time.Time       `json:"created_at"`
	Checkpoints []string        `json:"checkpoints"`
	Metrics     struct {
		Step int      `json:"step"`
		Loss *float64 `json:"loss"`
		EtaS *float64 `json:"eta_s"`
	} `json:"metrics"`
}

type apiModel struct {
	ID      int64  `json:"id"`
	RunID   int64  `json:"run_id"`
	Kind    string `json:"kind"`
	Path    string `json:"path"`
	Adapter string `json:"adapter"`
	Active  bool   `json:"active"`
}

func (r apiRun) run() Run {
	out := Run{ID: strconv.FormatInt(r.ID, 10), Status: r.Status, CreatedAt: r.CreatedAt, Step: r.Metrics.Step}
	if r.Metrics.Loss != nil {
		out.Loss = *r.Metrics.Loss
	}
	if r.Metrics.EtaS != nil {
		out.EtaS = *r.Metrics.EtaS
	}
	var cfg struct {
		MaxSteps int `json:"max_steps"`
	}
	if json.Unmarshal(r.Config, &cfg) == nil {
		out.MaxSteps = cfg.MaxSteps
	}
	return out
}

// DecodeRuns reads the answer of GET /api/runs.
func DecodeRuns(body []byte) ([]Run, error) {
	var v struct {
		Runs []apiRun `json:"runs"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("runs list: %w", err)
	}
	out := make([]Run, len(v.Runs))
	for i, r := range v.Runs {
		out[i] = r.run()
	}
	return out, nil
}

// maxLogLines is how many recent log lines the run page shows.
const maxLogLines = 200

// DecodeRunDetail reads the answer of GET /api/runs/{id}.
func DecodeRunDetail(body []byte) (*RunDetail, error) {
	var v struct {
		Run    apiRun           `json:"run"`
		Events []runspec.Record `json:"events"`
		Models []apiModel       `json:"models"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	d := &RunDetail{Run: v.Run.run(), Config: v.Run.Config}
	for _, e := range v.Events {
		d.Events = append(d.Events, e)
		d.LastSeq = max(d.LastSeq, e.Seq)
		// The trainer says how many steps it will take once it knows (start and step events).
		var n int
		if raw, ok := e.Other["max_steps"]; ok && json.Unmarshal(raw, &n) == nil && n > 0 {
			d.MaxSteps = n
		}
		if line := logLine(e); line != "" {
			d.Logs = append(d.Logs, line)
		}
	}
	if len(d.Logs) > maxLogLines {
		d.Logs = d.Logs[len(d.Logs)-maxLogLines:]
	}
	for _, m := range v.Models {
		a := Artifact{Name: m.Kind, Path: m.Path, ModelID: strconv.FormatInt(m.ID, 10), Active: m.Active}
		if m.Adapter != "" {
			a.Path = m.Adapter
		}
		d.Artifacts = append(d.Artifacts, a)
		if m.Active {
			d.Active, d.Model = true, fmt.Sprintf("medqa-run%d-%s", m.RunID, m.Kind)
		}
	}
	for _, c := range v.Run.Checkpoints {
		d.Artifacts = append(d.Artifacts, Artifact{Name: "checkpoint", Path: c})
	}
	return d, nil
}

// logLine is how an event reads in the run page's log ("" for the frequent step events,
// which the chart shows).
func logLine(e runspec.Record) string {
	switch e.Type {
	case runspec.EventLog, runspec.EventStatus, runspec.EventError:
		if e.Message == "" {
			return ""
		}
		prefix := e.Type + ": "
		if e.Type == runspec.EventLog {
			prefix = ""
		}
		if e.Stage != "" && e.Stage != "train" {
			prefix = "[" + e.Stage + "] " + prefix
		}
		return prefix + e.Message
	case runspec.EventCheckpoint:
		return "checkpoint: " + e.Path
	}
	return ""
}

// WithReport shows the evaluation's overall scores on the run page.
func (d *RunDetail) WithReport(r *EvalReport) {
	d.Metrics = map[string]float64(r.Overall)
}

// reportColumns are the metrics a report shows, in this order (all in percent but perplexity).
var reportColumns = []string{"f1", "exact_match", "rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "sacrebleu", "perplexity"}

// worstExamples is how many lowest-scoring answers a report lists.
const worstExamples = 10

// DecodeReport reads report.json of `trainer eval` (GET /api/runs/{id}/report) for run runID;
// with several models in the report, the first one is the run's.
func DecodeReport(runID string, body []byte) (*EvalReport, error) {
	var v struct {
		Settings struct {
			Split string `json:"split"`
		} `json:"settings"`
		Models []struct {
			Overall map[string]any `json:"overall"`
			ByQType []struct {
				Key     string         `json:"key"`
				Summary map[string]any `json:"summary"`
			} `json:"by_qtype"`
		} `json:"models"`
		Examples []struct {
			QType     string `json:"qtype"`
			Question  string `json:"question"`
			Reference string `json:"reference"`
			Outputs   []struct {
				Text   string         `json:"text"`
				Scores map[string]any `json:"scores"`
			} `json:"outputs"`
		} `json:"examples"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("report.json: %w", err)
	}
	if len(v.Models) == 0 {
		return nil, fmt.Errorf("report.json: no models")
	}
	m := v.Models[0]
	r := &EvalReport{RunID: runID, Split: v.Settings.Split, Columns: reportColumns, Overall: scores(m.Overall)}
	for _, g := range m.ByQType {
		n, _ := g.Summary["n"].(float64)
		r.QTypes = append(r.QTypes, QTypeRow{QType: g.Key, N: int(n), Scores: scores(g.Summary)})
	}
	for _, e := range v.Examples {
		if len(e.Outputs) == 0 {
			continue
		}
		s, _ := e.Outputs[0].Scores["rougeL"].(float64)
		r.Worst = append(r.Worst, Example{QType: e.QType, Question: e.Question, Reference: e.Reference,
			Prediction: e.Outputs[0].Text, Score: s})
	}
	slices.SortStableFunc(r.Worst, func(a, b Example) int { return cmp.Compare(a.Score, b.Score) })
	r.Worst = r.Worst[:min(len(r.Worst), worstExamples)]
	return r, nil
}

// scores keeps the report columns that have a number (BLEU and perplexity may be null).
func scores(m map[string]any) Scores {
	s := Scores{}
	for _, c := range reportColumns {
		if x, ok := m[c].(float64); ok {
			s[c] = x
		}
	}
	return s
}
