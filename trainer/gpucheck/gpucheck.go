// Package gpucheck holds the checks of the GPU bundle (`make gpu-bundle`, see docs/gpu.md): medqa on a
// device, against transformers and PEFT on the same device where they are installed, else against the
// references that travel with the bundle (tiny-qwen2's logits, the project's PyTorch-eager peer).
//
// Each check runs in its own process (`trainer gpucheck <check>`, started by the bundle's run.sh under
// its own time limit, so a hung CUDA call costs one check, not the run) and writes one JSON object:
// {"ok": true|false|null, figures…}; null means skipped, with a "reason". `trainer gpucheck report`
// joins them into the one line run.sh prints last.
package gpucheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"medqa/trainer/torch"
)

// Options say where a check runs and what it may use.
type Options struct {
	Device torch.Device
	// Work is scratch space shared by the checks of one run: models made by one check are reused
	// by the next (models/), each check keeps its files in a folder of its name.
	Work string
	// Bundle is the bundle's root: bin/backend, ref/ref.py, ref/qwen2_peer.py, testdata/tiny-qwen2.
	Bundle string
	// Python runs the reference scripts ("" when no python with torch was found).
	Python string
}

// Small is true on the CPU: the same checks on cut-down shapes and runs, so that `MEDQA_DEVICE=cpu
// run.sh` finishes in a few minutes on two cores.
func (o Options) Small() bool { return !o.Device.IsCUDA() }

// DType is the device's serving dtype: bf16 on CUDA, f32 on the CPU (bf16 on CPUs is slow).
func (o Options) DType() torch.DType {
	if o.Device.IsCUDA() {
		return torch.BFloat16
	}
	return torch.Float32
}

func (o Options) dir(name string) (string, error) {
	d := filepath.Join(o.Work, name)
	return d, os.MkdirAll(d, 0o755)
}

// Check is one named check.
type Check struct {
	Name    string
	Summary string
	// Limit is run.sh's time limit for it: with the shim's build (at most 2 minutes) the checks
	// together stay within 8 minutes.
	Limit time.Duration
	Run   func(ctx context.Context, o Options) (*Obj, error)
}

// Checks in the order run.sh runs them (`trainer gpucheck list` prints them with their limits) and
// the report lists them.
var Checks = []Check{
	{"parity", "logits vs transformers (else tiny-qwen2's reference logits and the PyTorch peer), f32 and bf16", 75 * time.Second, parity},
	{"lora", "LoRA training tokens/s (Qwen2.5-0.5B shape, rank 16 all-linear) vs transformers + PEFT", 90 * time.Second, loraCheck},
	{"peft", "PEFT loads medqa's adapter and medqa loads PEFT's, with the same logits", 45 * time.Second, peftCheck},
	{"decode", "greedy decode tokens/s, one stream and eight", 45 * time.Second, decode},
	{"server", "the backend answers a websocket ask with streamed tokens", 30 * time.Second, server},
	{"quantized", "int8 and int4 models generate on the device", 75 * time.Second, quantized},
}

// Find returns the check named name.
func Find(name string) (Check, bool) {
	for _, c := range Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// errSkip marks a check that could not run here: ok is null and the message is the reason.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

func skip(format string, a ...any) error { return errSkip{fmt.Sprintf(format, a...)} }

// Run runs one check and returns its result object: its figures with ok set, or ok false (null for a
// skip) with the error as reason. A torch panic is an error too.
func Run(ctx context.Context, c Check, o Options) (res *Obj) {
	t0 := time.Now()
	defer func() {
		res.Set("seconds", round(time.Since(t0).Seconds(), 1))
	}()
	runtime.LockOSThread() // grad mode and OpenMP teams are per OS thread
	defer runtime.UnlockOSThread()
	var obj *Obj
	err := func() (err error) {
		defer torch.Recover(&err)
		obj, err = c.Run(ctx, o)
		return err
	}()
	if obj == nil {
		obj = &Obj{}
	}
	var sk errSkip
	switch {
	case errors.As(err, &sk):
		return obj.First("ok", nil).Set("reason", sk.reason)
	case err != nil:
		return obj.First("ok", false).Set("reason", err.Error())
	}
	if _, set := obj.Get("ok"); !set {
		return obj.First("ok", false).Set("reason", "the check set no verdict")
	}
	return obj
}
