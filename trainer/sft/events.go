package sft

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"medqa/trainer/runspec"
)

// emitter writes events to stdout and the run's events.jsonl, and a human
// progress line when asked.
type emitter struct {
	out      io.Writer
	file     *os.File
	offset   int64 // bytes of events.jsonl written so far
	progress io.Writer
	hook     func(runspec.Event)
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

func (e *emitter) emit(ev runspec.Event) { e.write(e.encode(ev)) }

// close closes events.jsonl (ranks other than 0 have none).
func (e *emitter) close() {
	if e.file != nil {
		e.file.Close()
	}
}

// encode stamps ev and returns its line.
func (e *emitter) encode(ev runspec.Event) ([]byte, runspec.Event) {
	ev.Time = time.Now().UTC().Format(time.RFC3339Nano)
	line, err := json.Marshal(ev)
	if err != nil {
		panic(err) // every field is marshalable
	}
	return append(line, '\n'), ev
}

func (e *emitter) write(line []byte, ev runspec.Event) {
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
func (e *emitter) human(ev runspec.Event) {
	f := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	switch ev.Type {
	case runspec.EventStep:
		eta := time.Duration(f(ev.EtaS) * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(e.progress, "\r\033[Kstep %d/%d  epoch %.2f  loss %.4f  lr %.2e  grad %.3f  %.0f tok/s  eta %v",
			ev.Step, ev.MaxSteps, ev.Epoch, f(ev.Loss), f(ev.LR), f(ev.GradNorm), f(ev.TokensPerS), eta)
	case runspec.EventEval:
		best := ""
		if ev.Best {
			best = "  (best)"
		}
		fmt.Fprintf(e.progress, "\r\033[Keval at step %d: val_loss %.4f  val_ppl %.3f%s\n", ev.Step, f(ev.ValLoss), f(ev.ValPPL), best)
	case runspec.EventCheckpoint:
		fmt.Fprintf(e.progress, "\r\033[Kcheckpoint %s\n", ev.Path)
	case runspec.EventDone:
		fmt.Fprintf(e.progress, "\r\033[K%s at step %d: %s\n", ev.Status, ev.Step, ev.Path)
	case runspec.EventError:
		fmt.Fprintf(e.progress, "\r\033[Kerror: %s\n", ev.Error)
	}
}
