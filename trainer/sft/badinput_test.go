package sft

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medqa/trainer/runspec"
)

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

// interrupted leaves a run stopped at step 2 with checkpoints at steps 2 (and only 2).
func interrupted(t *testing.T) (Config, func() *Dataset) {
	t.Helper()
	c := toyRun(t, toyModel(t, 1))
	c.MaxSteps, c.SaveEvery = 6, 2
	ds := func() *Dataset { return NewDataset(toyTask(12, 1), toyTask(3, 2)) }
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Run(ctx, c, ds(), Options{OnEvent: func(ev runspec.Event) {
		if ev.Type == "step" && ev.Step == 2 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c, ds
}

func TestCorruptCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		file, content string
		mentions      []string
	}{
		{"trainer_state.json", `{"format": "medqa-sft-checkpoint/1", "step": `, []string{"corrupt checkpoint", "trainer_state.json"}},
		{"trainer_state.json", `{"format": "something else"}`, []string{"corrupt checkpoint", "format"}},
		{"optimizer.safetensors", "\x10\x00\x00\x00\x00\x00\x00\x00{", []string{"corrupt checkpoint", "optimizer.safetensors"}},
		{"adapter/adapter_model.safetensors", "", []string{"corrupt checkpoint", "adapter_model.safetensors"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, ds := interrupted(t)
			path := filepath.Join(c.Out, "checkpoints", "step-2", tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Run(context.Background(), c, ds(), Options{Resume: true})
			wantErr(t, err, tc.mentions...)
		})
	}
}

func TestResumeRefusals(t *testing.T) {
	c, ds := interrupted(t)
	changed := c
	changed.LR = 1e-3
	_, err := Run(context.Background(), changed, ds(), Options{Resume: true})
	wantErr(t, err, "--resume", "different settings", "lr")

	_, err = Run(context.Background(), c, ds(), Options{})
	wantErr(t, err, "already holds a run", "--resume")

	_, err = Run(context.Background(), c, NewDataset(toyTask(13, 1), nil), Options{Resume: true})
	wantErr(t, err, "data changed")
	_, err = Run(context.Background(), c, NewDataset(toyTask(12, 99), nil), Options{Resume: true})
	wantErr(t, err, "data changed", "hash") // as many examples, other content

	// A run that stopped before its first checkpoint starts over on --resume.
	early := c
	early.Out = t.TempDir()
	os.WriteFile(filepath.Join(early.Out, EventsFile), []byte(`{"type":"start"}`+"\n"), 0o644)
	if res, err := Run(context.Background(), early, ds(), Options{Resume: true}); err != nil || res.Steps != 6 {
		t.Fatalf("resume without a checkpoint: %v %+v", err, res)
	}
	if evs := readEvents(t, filepath.Join(early.Out, EventsFile)); evs[0].Type != "start" || evs[0].Resumed || len(losses(evs)) != 6 {
		t.Errorf("restarted run's events: %d step events, first %+v", len(losses(evs)), evs[0])
	}

	// Adjustable settings may change: this finishes the run.
	adj := c
	adj.EvalEvery, adj.KeepCheckpoints = 1, 1
	if res, err := Run(context.Background(), adj, ds(), Options{Resume: true}); err != nil || res.Steps != 6 {
		t.Fatalf("resume with adjusted eval/keep: %v %+v", err, res)
	}
}

func TestBadConfigAndData(t *testing.T) {
	base := toyModel(t, 1)
	c := toyRun(t, base)
	ds := NewDataset(toyTask(4, 1), nil)
	ds.Train[2].InputIDs[1] = 40
	_, err := Run(context.Background(), c, ds, Options{})
	wantErr(t, err, "train example 3", "token id 40", "vocabulary of 32")

	for _, tc := range []struct {
		edit func(*Config)
		msg  string
	}{
		{func(c *Config) { c.InitConfig, c.Model = "x.json", "" }, "--init-config"},
		{func(c *Config) { c.TargetModules = "q_proj,lm_head" }, `"lm_head"`},
		{func(c *Config) { c.Schedule = "step" }, "--schedule"},
		{func(c *Config) { c.BatchSize = 0 }, "--batch-size"},
		{func(c *Config) { c.LoraR = 0 }, "rank"},
		{func(c *Config) { c.Precision = "fp8" }, "--precision"},
	} {
		bad := toyRun(t, base)
		tc.edit(&bad)
		_, err := Run(context.Background(), bad, NewDataset(toyTask(4, 1), nil), Options{})
		wantErr(t, err, tc.msg)
	}
}

// A lost events.jsonl does not stop a resume, and is not padded with zeros.
func TestResumeWithoutEventsFile(t *testing.T) {
	c, ds := interrupted(t)
	os.Remove(filepath.Join(c.Out, EventsFile))
	if _, err := Run(context.Background(), c, ds(), Options{Resume: true}); err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, filepath.Join(c.Out, EventsFile))
	if evs[0].Type != "start" || !evs[0].Resumed || evs[0].Step != 2 || len(losses(evs)) != 4 {
		t.Errorf("events after resume: first %+v, %d steps", evs[0], len(losses(evs)))
	}
}
