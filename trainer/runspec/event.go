// Package runspec is the contract of a training run between the processes that handle one:
// `trainer train` takes the run's settings as flags and writes its progress as JSON event
// lines; the server (backend/runs) validates the settings it is sent (POST /api/runs),
// launches the trainer, and stores and streams the events it reads; the admin pages (web, also
// in the Workers front) render the start form from the same settings table and draw the
// events. Each side imports this package, which is plain Go (no cgo, builds for GOOS=js), so
// a field's name, default and limits are written down once. See docs/architecture.md#contracts.
package runspec

import "math"

// Event types. The trainer writes the first six; the server adds the last two.
const (
	EventStart      = "start"
	EventStep       = "step"
	EventEval       = "eval"
	EventCheckpoint = "checkpoint"
	EventDone       = "done"
	EventError      = "error"
	EventLog        = "log"    // a trainer output line that is not an event, kept as text
	EventStatus     = "status" // the server's note that a run's status changed
)

// Statuses of a done event: how training ended.
const (
	StatusCompleted    = "completed"
	StatusEarlyStopped = "early_stopped"
	StatusInterrupted  = "interrupted"
)

// Event is one line of the trainer's event stream (stdout and RUNDIR/events.jsonl). The
// metric names are shared by every type that carries them. Absent values are left out, never
// zero-filled: a metric that is not a number (a diverged loss) is absent too, since JSON has
// no NaN (see Num).
type Event struct {
	Type       string   `json:"type"`
	Time       string   `json:"time"` // RFC 3339, UTC
	Step       int      `json:"step"` // optimizer steps completed
	MaxSteps   int      `json:"max_steps"`
	Epoch      float64  `json:"epoch"` // epochs completed, fractional
	Loss       *float64 `json:"loss,omitempty"`
	LR         *float64 `json:"lr,omitempty"`
	GradNorm   *float64 `json:"grad_norm,omitempty"` // before clipping
	TokensPerS *float64 `json:"tokens_per_s,omitempty"`
	ElapsedS   float64  `json:"elapsed_s"` // training time of the whole run, resumed parts included
	EtaS       *float64 `json:"eta_s,omitempty"`
	ValLoss    *float64 `json:"val_loss,omitempty"`
	ValPPL     *float64 `json:"val_ppl,omitempty"`
	Best       bool     `json:"best,omitempty"`   // eval: the best validation loss so far
	Path       string   `json:"path,omitempty"`   // checkpoint, best weights, or the final adapter/model
	Status     string   `json:"status,omitempty"` // done: StatusCompleted, StatusEarlyStopped or StatusInterrupted
	Error      string   `json:"error,omitempty"`

	// start only
	Resumed         bool   `json:"resumed,omitempty"`
	TrainableParams int64  `json:"trainable_params,omitempty"`
	TrainExamples   int    `json:"train_examples,omitempty"`
	ValExamples     int    `json:"val_examples,omitempty"`
	Device          string `json:"device,omitempty"`
	Precision       string `json:"precision,omitempty"`
	RunDir          string `json:"run_dir,omitempty"`
	// done only
	BestValLoss *float64 `json:"best_val_loss,omitempty"`
	BestStep    int      `json:"best_step,omitempty"`
}

// Num is v as an optional metric: nil when v is NaN or infinite, which JSON cannot carry;
// absent says "not a number" well enough.
func Num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
