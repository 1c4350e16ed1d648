package main

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"medqa/files/testkit"
)

// captureVerbStdout runs fn with stdout redirected and returns what it printed.
func captureVerbStdout(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	err = fn()
	w.Close()
	os.Stdout = old
	return string(<-done), err
}

func TestLogitsVerbMatchesTransformers(t *testing.T) {
	dir, ref := testkit.TinyQwen2(t), testkit.TinyQwen2Logits(t)
	var ids []string
	for _, id := range ref.Sequences[1] {
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	out, err := captureVerbStdout(t, func() error {
		return runLogits([]string{"--model", dir, "--ids", strings.Join(ids, ",")})
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Logits [][]float64 }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(got.Logits) != len(ref.Logits[1]) {
		t.Fatalf("%d rows, want %d", len(got.Logits), len(ref.Logits[1]))
	}
	for i, row := range ref.Logits[1] {
		for j, want := range row {
			if d := math.Abs(got.Logits[i][j] - want); !(d <= 1e-4) {
				t.Fatalf("logit [%d][%d] = %v, transformers %v", i, j, got.Logits[i][j], want)
			}
		}
	}
	if _, err := captureVerbStdout(t, func() error { return runLogits([]string{"--model", dir, "--ids", "1,x"}) }); err == nil || !strings.Contains(err.Error(), `item 2 ("x")`) {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := captureVerbStdout(t, func() error { return runLogits([]string{"--model", dir, "--ids", "1,12"}) }); err == nil || !strings.Contains(err.Error(), "position 1") {
		t.Fatalf("out-of-vocabulary id: %v", err)
	}
}
