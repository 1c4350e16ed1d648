package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/lora"
)

// qwenVocabModel writes a random model of the QwenVocab test shape
// (Qwen2.5's vocabulary, so that the real tokenizer's ids fit; widths that
// are multiples of GGUF's Q8_0 block, 32). The loss only ever computes
// logits for learned positions, so the 151936-wide head stays cheap.
func qwenVocabModel(t *testing.T) string {
	t.Helper()
	return qwen2test.Write(t, qwen2test.Config(testkit.QwenVocab), 1)
}

func splitDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	row := func(q, a string) string {
		b, _ := json.Marshal(map[string]any{"messages": []map[string]string{
			{"role": "system", "content": "You are a medical question-answering assistant."},
			{"role": "user", "content": q}, {"role": "assistant", "content": a}}})
		return string(b) + "\n"
	}
	train := row("What is (are) Glaucoma?", "A group of diseases that damage the optic nerve.") +
		row("What causes anemia?", "Too few red blood cells or too little hemoglobin.") +
		row("Is asthma inherited?", "It runs in families.") +
		row("How to prevent flu?", "Get vaccinated every year.")
	val := row("What is a fever?", "A body temperature above normal.") + row("What is a cold?", "A viral infection of the nose.")
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte(train), 0o644)
	os.WriteFile(filepath.Join(dir, "validation.jsonl"), []byte(val), 0o644)
	return dir
}

// runVerbQuiet runs a verb with stdout captured and stderr discarded.
func runVerbQuiet(t *testing.T, run func([]string) error, args ...string) (string, error) {
	t.Helper()
	t.Setenv("OMP_WAIT_POLICY", "passive") // as make exports it
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = out, devnull
	err = run(args)
	os.Stdout, os.Stderr = stdout, stderr
	devnull.Close()
	out.Close()
	raw, _ := os.ReadFile(out.Name())
	return string(raw), err
}

// eventKeys are the fields the event contract allows (docs/architecture.md,
// "Training events"), the start/done extras included.
var eventKeys = []string{"type", "time", "step", "max_steps", "epoch", "loss", "lr", "grad_norm", "tokens_per_s",
	"elapsed_s", "eta_s", "val_loss", "val_ppl", "best", "path", "status", "error", "resumed", "trainable_params",
	"train_examples", "val_examples", "device", "precision", "run_dir", "best_val_loss", "best_step"}

func parseEvents(t *testing.T, text string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event line %q: %v", sc.Text(), err)
		}
		for k := range ev {
			if !slices.Contains(eventKeys, k) {
				t.Errorf("event %v has key %q outside the contract", ev["type"], k)
			}
		}
		evs = append(evs, ev)
	}
	return evs
}

func TestTrainVerb(t *testing.T) {
	model, data := qwenVocabModel(t), splitDir(t)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"--model", model, "--data", data, "--out", out, "--max-steps", "4", "--batch-size", "2",
		"--eval-every", "2", "--save-every", "2", "--lora-r", "4", "--target-modules", "q_proj,v_proj", "--threads", "1"}
	stdout, err := runVerbQuiet(t, runTrain, args...)
	if err != nil {
		t.Fatal(err)
	}
	evs := parseEvents(t, stdout)
	var types []string
	for _, ev := range evs {
		types = append(types, ev["type"].(string))
	}
	want := []string{"start", "step", "step", "eval", "checkpoint", "step", "step", "eval", "checkpoint", "done"}
	if !slices.Equal(types, want) {
		t.Fatalf("event types %v, want %v", types, want)
	}
	step := evs[1]
	for _, k := range []string{"step", "epoch", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s", "eta_s"} {
		if _, ok := step[k]; !ok {
			t.Errorf("step event lacks %q: %v", k, step)
		}
	}
	if _, ok := evs[3]["val_ppl"]; !ok {
		t.Errorf("eval event lacks val_ppl: %v", evs[3])
	}
	disk, _ := os.ReadFile(filepath.Join(out, "events.jsonl"))
	if string(disk) != stdout {
		t.Error("events.jsonl differs from stdout")
	}
	c, err := lora.ReadConfig(filepath.Join(out, "adapter"))
	if err != nil || !slices.Equal(c.Targets, []string{"q_proj", "v_proj"}) || c.R != 4 || c.BaseModel != model {
		t.Errorf("adapter config %+v, %v", c, err)
	}
	var info struct {
		Status string
		Data   struct {
			Train struct {
				Examples    int
				LabelTokens int `json:"label_tokens"`
			}
		}
	}
	raw, _ := os.ReadFile(filepath.Join(out, "run.json"))
	if err := json.Unmarshal(raw, &info); err != nil || info.Status != "completed" || info.Data.Train.Examples != 4 || info.Data.Train.LabelTokens == 0 {
		t.Errorf("run.json: %v %+v", err, info)
	}

	// Resuming keeps the run's settings: a conflicting flag is refused,
	// an adjustable one accepted.
	_, err = runVerbQuiet(t, runTrain, "--out", out, "--resume", "--lr", "0.1")
	if err == nil || !strings.Contains(err.Error(), "--lr 0.1 (the run has 0.0002)") {
		t.Errorf("resume with another --lr: %v", err)
	}
	if _, err := runVerbQuiet(t, runTrain, "--out", out, "--resume", "--eval-every", "1"); err != nil {
		t.Errorf("resume of a finished run: %v", err)
	}
	// Missing split files fail before anything is written, with an error event.
	stdout, err = runVerbQuiet(t, runTrain, "--model", model, "--data", t.TempDir(), "--out", filepath.Join(t.TempDir(), "r"))
	if err == nil || !strings.Contains(err.Error(), "missing split file") || !strings.Contains(stdout, `"type":"error"`) {
		t.Errorf("missing splits: %v; stdout %q", err, stdout)
	}
}

// TestTrainSignal sends SIGINT to a training process: it must checkpoint,
// report "interrupted" and exit 0. The test binary re-runs itself as trainer.
func TestTrainSignal(t *testing.T) {
	if args := os.Getenv("MEDQA_TRAIN_ARGS"); args != "" {
		os.Args = append([]string{"trainer"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	model, data := qwenVocabModel(t), splitDir(t)
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run=^TestTrainSignal$")
	cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=passive", "MEDQA_TRAIN_ARGS="+strings.Join([]string{"train", "--model", model,
		"--data", data, "--out", out, "--max-steps", "100000", "--batch-size", "2", "--save-every", "0", "--threads", "1"}, "\x1f"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var last map[string]any
	sent := false
	for sc.Scan() {
		json.Unmarshal(sc.Bytes(), &last)
		if last["type"] == "step" && !sent {
			cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v", err)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit after SIGINT")
	}
	if last["type"] != "done" || last["status"] != "interrupted" {
		t.Fatalf("last event %v, want done/interrupted", last)
	}
	step := int(last["step"].(float64))
	if _, err := os.Stat(filepath.Join(out, "checkpoints", "step-"+itoa(step), "trainer_state.json")); err != nil {
		t.Errorf("no checkpoint at the interrupted step %d: %v", step, err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
