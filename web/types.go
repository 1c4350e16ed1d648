package web

import (
	"encoding/json"
	"time"

	"medqa/trainer/runspec"
)

// Run is one row of the runs table. JSON names follow the backend's /api/runs answers so the
// Workers front can read them straight from the API.
type Run struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"` // queued, running, cancelling, cancelled, interrupted, failed, succeeded
	CreatedAt time.Time `json:"created_at"`
	Step      int       `json:"step"`
	MaxSteps  int       `json:"max_steps"` // 0 when unknown yet
	Loss      float64   `json:"loss"`      // latest training loss, 0 before the first step
	EtaS      float64   `json:"eta_s"`     // seconds, 0 when unknown
	Model     string    `json:"model,omitempty"`
	Active    bool      `json:"active,omitempty"` // this run's model is the one serving
}

// Progress is the finished fraction in [0, 1], or -1 when the total is unknown.
func (r Run) Progress() float64 {
	if r.MaxSteps <= 0 {
		return -1
	}
	p := float64(r.Step) / float64(r.MaxSteps)
	return min(max(p, 0), 1)
}

// Artifact is something a run produced: a servable model (adapter, merged, int8, int4), which
// has a ModelID for POST /api/models/{id}/activate, or a checkpoint.
type Artifact struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Bytes   int64  `json:"bytes,omitempty"` // 0: unknown
	ModelID string `json:"model_id,omitempty"`
	Active  bool   `json:"active,omitempty"` // the model serving now
}

// RunDetail is everything the run page shows.
type RunDetail struct {
	Run
	// Config is the exact configuration the run was started with, shown verbatim.
	Config    json.RawMessage    `json:"config"`
	Events    []runspec.Record   `json:"events"`
	Metrics   map[string]float64 `json:"metrics,omitempty"` // latest evaluation metrics
	Artifacts []Artifact         `json:"artifacts,omitempty"`
	Logs      []string           `json:"logs,omitempty"` // most recent log lines, oldest first
	// LastSeq is the seq of the last event shown: the event stream (/ws/runs/{id}) replays
	// the run's history first, and the page skips what it already shows.
	LastSeq int64 `json:"last_seq,omitempty"`
}

// EvalReport is a run's evaluation: corpus metrics, per-qtype tables and the worst examples.
type EvalReport struct {
	RunID   string     `json:"run_id"`
	Split   string     `json:"split"`
	Columns []string   `json:"columns"` // metric names, in display order
	Overall Scores     `json:"overall"`
	QTypes  []QTypeRow `json:"qtypes"`
	Worst   []Example  `json:"worst"`
}

// Scores maps a metric name from EvalReport.Columns to its value.
type Scores map[string]float64

// QTypeRow is one question type's line in the report.
type QTypeRow struct {
	QType  string `json:"qtype"`
	N      int    `json:"n"`
	Scores Scores `json:"scores"`
}

// Example is one scored test question.
type Example struct {
	QType      string  `json:"qtype"`
	Question   string  `json:"question"`
	Reference  string  `json:"reference"`
	Prediction string  `json:"prediction"`
	Score      float64 `json:"score"` // the metric the examples are ranked by (ROUGE-L)
}
