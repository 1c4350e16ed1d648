package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const fixture = "data/testdata/mle_screening_sample.csv"

// runDataQuiet runs the verb with its summary and usage text discarded.
func runDataQuiet(t *testing.T, args ...string) error {
	t.Helper()
	stdout, stderr := os.Stdout, os.Stderr
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout, os.Stderr = devnull, devnull
	defer func() { os.Stdout, os.Stderr = stdout, stderr; devnull.Close() }()
	return runData(args)
}

func TestDataVerb(t *testing.T) {
	out := filepath.Join(t.TempDir(), "splits")
	if err := runDataQuiet(t, "--input", fixture, "--out", out, "--seed", "3", "--system-prompt", "Be brief."); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"train.jsonl", "validation.jsonl", "test.jsonl", "stats.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "stats.json"))
	if err != nil || !bytes.Contains(b, []byte(`"system_prompt": "Be brief."`)) || !bytes.Contains(b, []byte(`"seed": 3`)) {
		t.Errorf("stats.json does not record the flags (%v):\n%s", err, b)
	}
}

// A failing run writes nothing: no --out, no temporary directory, and an
// earlier output stays byte for byte.
func TestDataVerbFailsWholly(t *testing.T) {
	dir := t.TempDir()
	bad := map[string]string{
		"quotes.csv":   "question,answer\n\"open,quote\n",
		"fields.csv":   "question,answer\nq,a,extra\n",
		"header.csv":   "question,reply\nq,a\n",
		"utf8.csv":     "question,answer\nq\xff,a\n",
		"shape.json":   `{"1": {"QUESTION": ["not", "a", "string"], "LONG_ANSWER": "A."}}`,
		"array.json":   `[]`,
		"notgz.csv.gz": "question,answer\n",
	}
	for name, content := range bad {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := [][]string{
		{"--input", filepath.Join(dir, "missing.csv")},
		{"--input", fixture, "--validation", "0.7", "--test", "0.5"},
		{"--input", fixture, "--input", filepath.Join("..", "trainer", fixture)}, // one name twice
	}
	for name := range bad {
		// The good file first: a late failure must not leave its rows behind.
		cases = append(cases, []string{"--input", fixture, "--input", filepath.Join(dir, name)})
	}

	for _, args := range cases {
		parent := filepath.Join(t.TempDir(), "p")
		out := filepath.Join(parent, "out")
		err := runDataQuiet(t, append(args, "--out", out)...)
		if err == nil {
			t.Errorf("%v: no error", args)
			continue
		}
		if _, serr := os.Stat(parent); !os.IsNotExist(serr) {
			entries, _ := os.ReadDir(parent)
			t.Errorf("%v: failed (%v) but left %d entries in the output's parent", args, err, len(entries))
		}
	}

	// An earlier good output survives a failed run untouched.
	out := filepath.Join(t.TempDir(), "out")
	if err := runDataQuiet(t, "--input", fixture, "--out", out); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, "train.jsonl"))
	if err := runDataQuiet(t, "--input", filepath.Join(dir, "quotes.csv"), "--out", out, "--seed", "9"); err == nil {
		t.Fatal("no error")
	}
	after, _ := os.ReadFile(filepath.Join(out, "train.jsonl"))
	if len(before) == 0 || !bytes.Equal(before, after) {
		t.Error("a failed run changed the earlier output")
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("%d entries beside the output", len(entries))
	}
}

func TestDataVerbUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--input", fixture}, {"--out", t.TempDir()}, {"--input", fixture, "--out", "x", "stray"}} {
		if err := runDataQuiet(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// The process exits non-zero and names the file and line on bad input. The
// test binary re-runs itself as the trainer command.
func TestDataExitStatus(t *testing.T) {
	if args := os.Getenv("MEDQA_TRAINER_ARGS"); args != "" {
		os.Args = append([]string{"trainer"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("question,answer\nq1,a1\nq2,a2,a3\n"), 0o644)
	cmd := exec.Command(os.Args[0], "-test.run=^TestDataExitStatus$")
	cmd.Env = append(os.Environ(), "MEDQA_TRAINER_ARGS="+strings.Join([]string{"data", "--input", bad, "--out", filepath.Join(t.TempDir(), "o")}, "\x1f"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
		t.Fatalf("exit: %v", err)
	}
	if want := bad + ":3: wrong number of fields"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}
}
