package gpucheck

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Errors are measured against the reference (relative to 1+|reference|), and greedy tokens row by row.
func TestCompare(t *testing.T) {
	want := []float32{0, 1, 3 /* row 2 */, 2, -1, 0}
	got := []float32{0.5, 1, 3.5 /* row 2, argmax moves */, 2, -1, 2.5}
	d, err := compare(got, want, 3)
	if err != nil {
		t.Fatal(err)
	}
	if d.MaxAbs != 2.5 || d.MaxRel != 2.5 || d.Same != 1 || d.Rows != 2 {
		t.Fatalf("got %+v, want MaxAbs 2.5, MaxRel 2.5 (|Δ| 2.5 at reference 0), 1 of 2 rows", d)
	}
	d, _ = compare([]float32{4}, []float32{3}, 1)
	if d.MaxRel != 0.25 {
		t.Fatalf("relative error of 4 against 3: %v, want 1/(1+3)", d.MaxRel)
	}
	if d, _ := compare([]float32{float32(math.NaN())}, []float32{1}, 1); !math.IsNaN(d.MaxRel) {
		t.Fatalf("NaN logits compare as %+v", d)
	}
	if _, err := compare(got, want[:3], 3); err == nil {
		t.Fatal("logits of different lengths compared")
	}
}

// The report lists keys in the order they were set, "ok" first, and reads back the same.
func TestObjOrder(t *testing.T) {
	o := (&Obj{}).Set("z", 1).Set("a", (&Obj{}).Set("y", "s").Set("b", nil)).First("ok", true).Set("z", 2)
	raw, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"ok":true,"z":2,"a":{"y":"s","b":null}}`; string(raw) != want {
		t.Fatalf("got %s, want %s", raw, want)
	}
	var back Obj
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	if string(again) != string(raw) {
		t.Fatalf("round trip: %s, want %s", again, raw)
	}
	if err := json.Unmarshal([]byte(`[1]`), &back); err == nil {
		t.Fatal("an array read as an object")
	}
}

// A check without a result is a failure whose reason says what happened: killed at its time limit,
// exited, or never started because the shim did not build. Every check has a key.
func TestReportExplainsMissingResults(t *testing.T) {
	work := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(work, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("parity.json", `{"ok":true,"x":1}`)
	write("lora.rc", "124\n")
	write("lora.limit", "90\n")
	write("lora.log", "step 1\nstep 2\n")
	write("peft.json", `{"ok":null,"reason":"no peft"}`)
	write("decode.rc", "2\n")
	write("decode.log", "medqa: tt_from_data called without the libtorch shim")
	write("server.json", `not json`)
	write(shimErrFile, "no C++ compiler")
	raw, err := json.Marshal(Report(work))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]struct {
		OK     *bool
		Reason string
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), `{"parity":{"ok":true,"x":1},"lora":`) {
		t.Fatalf("report: %s", raw)
	}
	for name, want := range map[string]string{
		"lora":      "timed out after 90s; last output: step 1\nstep 2",
		"decode":    "exited with status 2 and no result; last output: medqa: tt_from_data called without the libtorch shim",
		"server":    "is not a result object: not json",
		"quantized": "not run: the libtorch shim did not build: no C++ compiler",
		"peft":      "no peft",
	} {
		r := got[name]
		if !strings.Contains(r.Reason, want) || (name != "peft") != (r.OK != nil && !*r.OK) {
			t.Errorf("%s: ok %v, reason %q; want a failure saying %q", name, r.OK, r.Reason, want)
		}
	}
	if len(got) != len(Checks) {
		t.Errorf("%d keys, want one per check (%d)", len(got), len(Checks))
	}
}
