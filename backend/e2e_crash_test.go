//go:build e2e

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"medqa/backend/runs"
	"medqa/backend/runs/faketrainer"
	"medqa/files/testkit"
	"medqa/trainer/runspec"
)

// TestCrashThenResume: kill -9 the server during a training run, start it again: the run is
// interrupted, resume continues it from its last checkpoint, and the loss curve from there
// equals an uninterrupted run's. The trainer is the fake one (a loss that is a function of
// the step and of nothing else, checkpoints every 10 steps).
func TestCrashThenResume(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"base", "splits"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	args := []string{"--data", dir, "--trainer", fmt.Sprintf("env %s=1 %s=20ms %s", faketrainer.EnvVar, faketrainer.StepEnv, os.Args[0])}
	cfg := map[string]any{"base_model": filepath.Join(dir, "base"), "data": filepath.Join(dir, "splits"),
		"max_steps": 60, "save_every": 10, "pipeline": []string{}}
	detail := func(s *proc, tok string, id int64) runs.Detail {
		var d runs.Detail
		if code := s.call(t, "GET", fmt.Sprintf("/api/runs/%d", id), tok, nil, &d); code != 200 {
			t.Fatalf("GET run %d: %d", id, code)
		}
		return d
	}

	a := startServer(t, args...)
	tok := a.login(t)
	var run runs.Run
	if code := a.call(t, "POST", "/api/runs", tok, cfg, &run); code != 201 {
		t.Fatalf("start: %d", code)
	}
	testkit.Eventually(t, 30*time.Second, "25 steps", func() bool { return detail(a, tok, run.ID).Run.Metrics.Step >= 25 })
	a.cmd.Process.Kill() // SIGKILL: no shutdown, no checkpoint request
	a.cmd.Wait()

	b := startServer(t, args...)
	tok = b.login(t)
	d := detail(b, tok, run.ID)
	if d.Run.Status != runs.StatusInterrupted {
		t.Fatalf("after the crash: %s, want interrupted", d.Run.Status)
	}
	last := int64(0)
	for _, ev := range d.Events {
		if ev.Type == runspec.EventCheckpoint && *ev.Step > last {
			last = *ev.Step
		}
	}
	if last < 20 {
		t.Fatalf("last checkpoint before the crash at step %d, want ≥ 20", last)
	}
	crashSeq := d.Events[len(d.Events)-1].Seq
	if code := b.call(t, "POST", fmt.Sprintf("/api/runs/%d/resume", run.ID), tok, nil, nil); code != 202 {
		t.Fatalf("resume: %d", code)
	}
	var whole runs.Run
	if code := b.call(t, "POST", "/api/runs", tok, cfg, &whole); code != 201 {
		t.Fatalf("the uninterrupted run: %d", code)
	}
	testkit.Eventually(t, 60*time.Second, "both runs to succeed", func() bool {
		return detail(b, tok, run.ID).Run.Status == runs.StatusSucceeded && detail(b, tok, whole.ID).Run.Status == runs.StatusSucceeded
	})

	ref := map[int64]float64{}
	for _, ev := range detail(b, tok, whole.ID).Events {
		if ev.Type == runspec.EventStep {
			ref[*ev.Step] = *ev.Loss
		}
	}
	var resumed []int64
	for _, ev := range detail(b, tok, run.ID).Events {
		if ev.Seq <= crashSeq || ev.Type != runspec.EventStep {
			continue
		}
		resumed = append(resumed, *ev.Step)
		if want, ok := ref[*ev.Step]; !ok || *ev.Loss != want {
			t.Errorf("step %d after resume: loss %v, uninterrupted run's %v", *ev.Step, *ev.Loss, want)
		}
	}
	if len(resumed) != int(60-last) || resumed[0] != last+1 || resumed[len(resumed)-1] != 60 {
		t.Fatalf("steps after resume %v, want %d..60 (from the checkpoint at %d)", resumed, last+1, last)
	}
}
