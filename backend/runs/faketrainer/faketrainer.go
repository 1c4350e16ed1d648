// Package faketrainer stands in for `trainer <verb>` in tests: it speaks the trainer's
// JSON-lines event contract, checkpoints on SIGINT/SIGTERM and resumes from its last
// checkpoint, writing the artifacts each verb promises, without any model. A test binary
// re-executes itself with EnvVar set and calls Main from TestMain.
package faketrainer

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// EnvVar makes a test binary act as the fake trainer.
const EnvVar = "MEDQA_FAKE_TRAINER"

// StepEnv sets the time per training step (a Go duration; default 20ms).
const StepEnv = "MEDQA_FAKE_STEP"

// FailEnv makes training fail at this step (exit status 1 after an error event).
const FailEnv = "MEDQA_FAKE_FAIL_AT"

// LongLineEnv makes training print one non-event line of this many bytes after step 1.
const LongLineEnv = "MEDQA_FAKE_LONG_LINE"

// HangAtEnv makes training hang at this step: it prints nothing more and ignores SIGINT (a
// stuck trainer; only SIGKILL ends it).
const HangAtEnv = "MEDQA_FAKE_HANG_AT"

// ProgressEnv makes training write a progress line to stderr at this interval (a Go
// duration), as evaluation does between its stdout events.
const ProgressEnv = "MEDQA_FAKE_PROGRESS"

// Main runs the fake trainer on os.Args[1:] and returns the exit status.
func Main() int {
	args := os.Args[1:]
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "faketrainer: verb required")
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	out := fs.String("out", "", "")
	model := fs.String("model", "", "")
	maxSteps := fs.Int("max-steps", 0, "")
	epochs := fs.Float64("epochs", 0, "")
	resume := fs.Bool("resume", false, "")
	saveEvery := fs.Int("save-every", 5, "")
	// Flags the fake accepts and ignores.
	for _, f := range []string{"data", "adapter", "lr", "batch-size", "grad-accum", "max-length", "seed", "lora-r", "lora-alpha", "lora-dropout", "target-modules", "eval-every", "bits", "limit"} {
		fs.String(f, "", "")
	}
	fs.Bool("full", false, "")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *out == "" {
		emit(map[string]any{"type": "error", "message": "--out is required"})
		return 2
	}
	switch args[0] {
	case "train":
		steps := *maxSteps
		if steps == 0 {
			steps = int(*epochs * 20)
		}
		return train(*out, steps, *saveEvery, *resume)
	case "eval":
		emit(map[string]any{"type": "start", "model": *model})
		emit(map[string]any{"type": "eval", "val_loss": 1.5, "val_ppl": 4.48, "rougeL": 0.21})
		return finish(*out, "report.json")
	case "merge", "quantize":
		emit(map[string]any{"type": "start"})
		return finish(*out, "config.json")
	}
	fmt.Fprintln(os.Stderr, "faketrainer: unknown verb", args[0])
	return 2
}

func emit(ev map[string]any) {
	b, _ := json.Marshal(ev)
	os.Stdout.Write(append(b, '\n'))
}

func finish(dir, file string) int {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		emit(map[string]any{"type": "error", "message": err.Error()})
		return 1
	}
	os.WriteFile(filepath.Join(dir, file), []byte("{}\n"), 0o644)
	emit(map[string]any{"type": "done", "path": dir})
	return 0
}

// Loss is the fake's loss at a step: a pure function of the step, so a resumed run's curve
// equals an uninterrupted one's.
func Loss(step int) float64 { return 3.0 / (1 + 0.1*float64(step)) }

func checkpoint(out string, step int) {
	dir := filepath.Join(out, "checkpoints", "step-"+strconv.Itoa(step))
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "state.json"), []byte(fmt.Sprintf(`{"step":%d}`, step)), 0o644)
	os.WriteFile(filepath.Join(out, "checkpoints", "latest"), []byte(strconv.Itoa(step)), 0o644)
	emit(map[string]any{"type": "checkpoint", "step": step, "path": dir})
}

func train(out string, steps, saveEvery int, resume bool) int {
	stepTime := 20 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv(StepEnv)); err == nil {
		stepTime = d
	}
	failAt, _ := strconv.Atoi(os.Getenv(FailEnv))
	hangAt, _ := strconv.Atoi(os.Getenv(HangAtEnv))
	longLine, _ := strconv.Atoi(os.Getenv(LongLineEnv))
	if every, err := time.ParseDuration(os.Getenv(ProgressEnv)); err == nil {
		go func() {
			for range time.Tick(every) {
				fmt.Fprintln(os.Stderr, "fake: working")
			}
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	first := 1
	if resume {
		b, err := os.ReadFile(filepath.Join(out, "checkpoints", "latest"))
		if err != nil {
			emit(map[string]any{"type": "error", "message": "--resume: no checkpoint in " + out})
			return 1
		}
		n, _ := strconv.Atoi(string(b))
		first = n + 1
	}
	emit(map[string]any{"type": "start", "step": first - 1, "resumed": resume, "total_steps": steps})
	t0 := time.Now()
	for step := first; step <= steps; step++ {
		select {
		case <-sig:
			checkpoint(out, step-1)
			return 0
		case <-time.After(stepTime):
		}
		if step == hangAt {
			signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
			select {}
		}
		if step == 2 && longLine > 0 {
			os.Stdout.Write(append(bytes.Repeat([]byte("x"), longLine), '\n'))
		}
		if step == failAt {
			emit(map[string]any{"type": "error", "message": fmt.Sprintf("fake failure at step %d", step)})
			return 1
		}
		el := time.Since(t0).Seconds()
		emit(map[string]any{"type": "step", "step": step, "epoch": float64(step) / 20, "loss": Loss(step), "lr": 2e-4,
			"grad_norm": 1.0, "tokens_per_s": 1000.0, "elapsed_s": el, "eta_s": el / float64(step-first+1) * float64(steps-step)})
		if step%10 == 0 {
			emit(map[string]any{"type": "eval", "step": step, "val_loss": Loss(step) + 0.1, "val_ppl": 2.0})
		}
		if saveEvery > 0 && step%saveEvery == 0 {
			checkpoint(out, step)
		}
	}
	os.MkdirAll(filepath.Join(out, "adapter"), 0o755)
	os.WriteFile(filepath.Join(out, "adapter", "adapter_config.json"), []byte("{}\n"), 0o644)
	emit(map[string]any{"type": "done", "step": steps, "path": filepath.Join(out, "adapter")})
	return 0
}
