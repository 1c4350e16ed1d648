package sft

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// Event is one line of the training event stream (stdout and
// RUNDIR/events.jsonl), the contract the server's admin page reads. Type is
// start, step, eval, checkpoint, done or error; the metric names are shared
// by every type that carries them. Absent values are left out, never zero-filled.
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
	Best       bool     `json:"best,omitempty"` // eval: the best validation loss so far
	Path       string   `json:"path,omitempty"` // checkpoint, best weights, or the final adapter/model
	Status     string   `json:"status,omitempty"`
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

// Statuses of the done event.
const (
	StatusCompleted    = "completed"
	StatusEarlyStopped = "early_stopped"
	StatusInterrupted  = "interrupted"
)

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil // JSON has no NaN; absent says "not a number" well enough
	}
	return &v
}

// emitter writes events to stdout and the run's events.jsonl, and a human
// progress line when asked.
type emitter struct {
	out      io.Writer
	file     *os.File
	offset   int64 // bytes of events.jsonl written so far
	progress io.Writer
	hook     func(Event)
}

// openEvents opens path for appending after truncating it to offset bytes
// (the size recorded with the checkpoint a resumed run starts from, so that
// steps redone after a crash are not listed twice).
func openEvents(path string, offset int64, fresh bool) (*os.File, int64, error) {
	flags := os.O_WRONLY | os.O_CREATE
	if fresh {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, 0, err
	}
	if !fresh {
		// Never extend: a file shorter than the checkpoint remembers (lost or
		// replaced) is appended to as it is, rather than padded with zeros.
		if fi, err := f.Stat(); err == nil && fi.Size() < offset {
			offset = fi.Size()
		}
		if err := f.Truncate(offset); err != nil {
			f.Close()
			return nil, 0, err
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, 0, err
		}
	}
	if fresh {
		offset = 0
	}
	return f, offset, nil
}

func (e *emitter) emit(ev Event) { e.write(e.encode(ev)) }

// encode stamps ev and returns its line.
func (e *emitter) encode(ev Event) ([]byte, Event) {
	ev.Time = time.Now().UTC().Format(time.RFC3339Nano)
	line, err := json.Marshal(ev)
	if err != nil {
		panic(err) // every field is marshalable
	}
	return append(line, '\n'), ev
}

func (e *emitter) write(line []byte, ev Event) {
	if e.out != nil {
		e.out.Write(line)
	}
	if e.file != nil {
		n, _ := e.file.Write(line)
		e.offset += int64(n)
	}
	if e.progress != nil {
		e.human(ev)
	}
	if e.hook != nil {
		e.hook(ev)
	}
}

// human rewrites one status line on a terminal; other events get lines of their own.
func (e *emitter) human(ev Event) {
	f := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	switch ev.Type {
	case "step":
		eta := time.Duration(f(ev.EtaS) * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(e.progress, "\r\033[Kstep %d/%d  epoch %.2f  loss %.4f  lr %.2e  grad %.3f  %.0f tok/s  eta %v",
			ev.Step, ev.MaxSteps, ev.Epoch, f(ev.Loss), f(ev.LR), f(ev.GradNorm), f(ev.TokensPerS), eta)
	case "eval":
		best := ""
		if ev.Best {
			best = "  (best)"
		}
		fmt.Fprintf(e.progress, "\r\033[Keval at step %d: val_loss %.4f  val_ppl %.3f%s\n", ev.Step, f(ev.ValLoss), f(ev.ValPPL), best)
	case "checkpoint":
		fmt.Fprintf(e.progress, "\r\033[Kcheckpoint %s\n", ev.Path)
	case "done":
		fmt.Fprintf(e.progress, "\r\033[K%s at step %d: %s\n", ev.Status, ev.Step, ev.Path)
	case "error":
		fmt.Fprintf(e.progress, "\r\033[Kerror: %s\n", ev.Error)
	}
}
