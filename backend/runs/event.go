package runs

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event types the trainer prints, one JSON object per line (DESIGN.md's contract), plus
// "log" for a stdout line that is not such an object and "status" for the server's own
// notes about a run (started, cancelled, ...).
const (
	EventStart      = "start"
	EventStep       = "step"
	EventEval       = "eval"
	EventCheckpoint = "checkpoint"
	EventDone       = "done"
	EventError      = "error"
	EventLog        = "log"
	EventStatus     = "status"
)

// Event is one trainer event as stored and streamed. The contract's fields have names of
// their own; any other field the trainer adds (an eval's ROUGE, a summary's counts) is kept
// in Other, so nothing it says is lost.
type Event struct {
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
	Message    string   `json:"message,omitempty"`
	Status     string   `json:"status,omitempty"` // a status event's new run status

	Other map[string]json.RawMessage `json:"other,omitempty"`
}

// parseLine reads one line of trainer output. A line that is not a JSON object with a
// type becomes a log event, so a stray print never breaks a run.
func parseLine(line []byte) Event {
	var raw map[string]json.RawMessage
	if json.Unmarshal(line, &raw) != nil || raw["type"] == nil {
		return logEvent(string(line))
	}
	var ev Event
	take := func(key string, dst any) error {
		v, ok := raw[key]
		if !ok {
			return nil
		}
		delete(raw, key)
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("field %s: %v", key, err)
		}
		return nil
	}
	for _, f := range []struct {
		k string
		d any
	}{
		{"type", &ev.Type}, {"step", &ev.Step}, {"epoch", &ev.Epoch}, {"loss", &ev.Loss}, {"lr", &ev.LR},
		{"grad_norm", &ev.GradNorm}, {"tokens_per_s", &ev.TokensPerS}, {"elapsed_s", &ev.ElapsedS},
		{"eta_s", &ev.EtaS}, {"val_loss", &ev.ValLoss}, {"val_ppl", &ev.ValPPL}, {"path", &ev.Path},
		{"message", &ev.Message},
	} {
		if err := take(f.k, f.d); err != nil {
			return logEvent(fmt.Sprintf("unreadable event (%v): %s", err, line))
		}
	}
	// The server sets these itself.
	for _, k := range []string{"seq", "run_id", "stage", "time", "status"} {
		delete(raw, k)
	}
	if msg, ok := raw["error"]; ok && ev.Message == "" { // {"type":"error","error":"..."}
		if json.Unmarshal(msg, &ev.Message) == nil {
			delete(raw, "error")
		}
	}
	if len(raw) > 0 {
		ev.Other = raw
	}
	return ev
}

func logEvent(msg string) Event {
	const max = 4096
	if len(msg) > max {
		msg = msg[:max] + "…"
	}
	return Event{Type: EventLog, Message: msg}
}
