package runspec

import (
	"encoding/json"
	"fmt"
	"time"
)

// Record is an event as the server stores it and serves it (GET /api/runs/{id}, the
// /ws/runs/{id} stream): numbered, tagged with its run and stage, stamped with the time the
// server read it. The metrics the pages chart have fields of their own; every other key of
// the trainer's line (max_steps, best, the start and done extras, an eval's ROUGE) is kept
// in Other, so nothing the trainer says is lost.
type Record struct {
	Seq   int64     `json:"seq"` // 1, 2, ... per run, across stages and resumes
	RunID int64     `json:"run_id"`
	Stage string    `json:"stage"`
	Time  time.Time `json:"time"`
	Type  string    `json:"type"`

	Step       *int64   `json:"step,omitempty"`
	Epoch      *float64 `json:"epoch,omitempty"`
	Loss       *float64 `json:"loss,omitempty"`
	LR         *float64 `json:"lr,omitempty"`
	GradNorm   *float64 `json:"grad_norm,omitempty"`
	TokensPerS *float64 `json:"tokens_per_s,omitempty"`
	ElapsedS   *float64 `json:"elapsed_s,omitempty"`
	EtaS       *float64 `json:"eta_s,omitempty"`
	ValLoss    *float64 `json:"val_loss,omitempty"`
	ValPPL     *float64 `json:"val_ppl,omitempty"`
	Path       string   `json:"path,omitempty"`
	Message    string   `json:"message,omitempty"` // a log line, a status note, or an error event's error
	// Status is a status event's new run status, or a done event's status.
	Status string `json:"status,omitempty"`

	Other map[string]json.RawMessage `json:"other,omitempty"`
}

// serverKeys are set by the server, whatever a trainer line holds: the trainer's own time
// stamp is replaced by the time the server read the line.
var serverKeys = []string{"seq", "run_id", "stage", "time"}

// maxLogBytes bounds the text a log record keeps of one output line.
const maxLogBytes = 4096

// ParseLine reads one line of trainer output. A line that is not a JSON object with a type
// becomes a log record, so a stray print never breaks a run; a field of the wrong type makes
// the whole line a log record that says which field.
func ParseLine(line []byte) Record {
	var raw map[string]json.RawMessage
	if json.Unmarshal(line, &raw) != nil || raw["type"] == nil {
		return LogRecord(string(line))
	}
	var r Record
	for _, f := range []struct {
		key string
		dst any
	}{
		{"type", &r.Type}, {"step", &r.Step}, {"epoch", &r.Epoch}, {"loss", &r.Loss}, {"lr", &r.LR},
		{"grad_norm", &r.GradNorm}, {"tokens_per_s", &r.TokensPerS}, {"elapsed_s", &r.ElapsedS},
		{"eta_s", &r.EtaS}, {"val_loss", &r.ValLoss}, {"val_ppl", &r.ValPPL}, {"path", &r.Path},
		{"message", &r.Message}, {"status", &r.Status},
	} {
		v, ok := raw[f.key]
		if !ok {
			continue
		}
		delete(raw, f.key)
		if err := json.Unmarshal(v, f.dst); err != nil {
			return LogRecord(fmt.Sprintf("unreadable event (field %s: %v): %s", f.key, err, line))
		}
	}
	for _, k := range serverKeys {
		delete(raw, k)
	}
	if msg, ok := raw["error"]; ok && r.Message == "" { // {"type":"error","error":"..."}
		if json.Unmarshal(msg, &r.Message) == nil {
			delete(raw, "error")
		}
	}
	if len(raw) > 0 {
		r.Other = raw
	}
	return r
}

// LogRecord is a log record of msg, cut to a bounded length.
func LogRecord(msg string) Record {
	if len(msg) > maxLogBytes {
		msg = msg[:maxLogBytes] + "…"
	}
	return Record{Type: EventLog, Message: msg}
}
