package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medqa/files/testkit"
	"medqa/trainer/eval"
)

func exportSplit(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	row := func(id, qtype, q, a string) string {
		b, _ := json.Marshal(map[string]any{"id": id, "question": q, "answer": a, "qtype": qtype, "source": "GARD",
			"messages": []map[string]string{{"role": "user", "content": q}, {"role": "assistant", "content": a}}})
		return string(b) + "\n"
	}
	test := row("t-1", "information", "What is glaucoma?", "A group of eye diseases that damage the optic nerve.") +
		row("t-2", "causes", "What causes anemia?", "Too few red blood cells.")
	os.WriteFile(filepath.Join(dir, "test.jsonl"), []byte(test), 0o644)
	os.WriteFile(filepath.Join(dir, "validation.jsonl"), []byte(test), 0o644)
	// eval reads every split: the hallucination check looks up gene symbols in all answers of a focus.
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte(row("r-1", "symptoms", "What are the symptoms of gout?", "Sudden joint pain.")), 0o644)
	return dir
}

// quantize → export → eval (two models side by side) through the verbs.
func TestQuantizeExportEvalVerbs(t *testing.T) {
	model, split := qwenVocabModel(t), exportSplit(t)
	work := t.TempDir()
	q8 := filepath.Join(work, "q8")
	out, err := runVerbQuiet(t, runQuantize, "--model", model, "--out", q8, "--bits", "8", "--data", split, "--limit", "2")
	if err != nil {
		t.Fatal(err)
	}
	var qr quantizeReport
	if err := json.Unmarshal([]byte(out), &qr); err != nil {
		t.Fatalf("quantize stdout %q: %v", out, err)
	}
	if qr.Bits != 8 || qr.PPLSource == nil || qr.PPLQuantized == nil || qr.PPLRows != 2 || qr.PPLSplit != "validation" ||
		qr.QuantBytes <= 0 || qr.SizeRatioF32 > 0.3 || qr.MaxErrOverScale > 0.5+1e-5 {
		t.Errorf("quantize report %+v", qr)
	}
	if d := 100 * (*qr.PPLQuantized - *qr.PPLSource) / *qr.PPLSource; *qr.PPLDeltaPct != d {
		t.Errorf("ppl_delta_pct %g, from the two perplexities %g", *qr.PPLDeltaPct, d)
	}

	g := filepath.Join(work, "m.gguf")
	if out, err = runVerbQuiet(t, runExport, "--model", model, "--out", g, "--type", "f16"); err != nil {
		t.Fatal(err)
	}
	// F16: the seven linear weights of each layer and the (tied) token embedding; norms and biases stay F32.
	f16 := fmt.Sprintf(`"F16":%d`, 7*testkit.QwenVocab.Layers+1)
	if fi, err := os.Stat(g); err != nil || !strings.Contains(out, f16) || !strings.Contains(out, `"tokens":151936`) {
		t.Errorf("export: %v, stdout %s", err, out)
	} else if !strings.Contains(out, `"bytes":`+itoa64(fi.Size())) {
		t.Errorf("export summary %s, file %d bytes", out, fi.Size())
	}

	rep := filepath.Join(work, "report")
	out, err = runVerbQuiet(t, runEval, "--model", model, "--compare-model", q8, "--compare-label", "int8", "--data", split,
		"--max-new-tokens", "3", "--batch-size", "2", "--out", rep)
	if err != nil {
		t.Fatal(err)
	}
	var r eval.Report
	raw, err := os.ReadFile(filepath.Join(rep, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Models) != 2 || r.Models[1].Label != "int8" || len(r.Examples) != 2 || r.Settings.Decoding != "greedy" ||
		r.Models[0].Overall.Perplexity == nil || len(r.Examples[0].Outputs) != 2 {
		t.Errorf("report: %d models %+v, %d examples", len(r.Models), r.Models, len(r.Examples))
	}
	if !strings.Contains(out, "model: n=2 F1") || !strings.Contains(out, "int8: n=2 F1") {
		t.Errorf("eval stdout %q", out)
	}
	if _, err := os.Stat(filepath.Join(rep, "report.html")); err != nil {
		t.Error(err)
	}
}

func TestExportVerbsRefuseBadInput(t *testing.T) {
	model, split := qwenVocabModel(t), exportSplit(t)
	nonEmpty := t.TempDir()
	os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o644)
	for _, tc := range []struct {
		name string
		run  func([]string) error
		args []string
		want string
	}{
		{"quantize needs out", runQuantize, []string{"--model", model}, "--out"},
		{"quantize bits", runQuantize, []string{"--model", model, "--out", filepath.Join(t.TempDir(), "q"), "--bits", "3"}, "bits must be 8 or 4"},
		{"quantize non-empty out", runQuantize, []string{"--model", model, "--out", nonEmpty}, "not empty"},
		{"export type", runExport, []string{"--model", model, "--out", filepath.Join(t.TempDir(), "x.gguf"), "--type", "q5_1"}, "f32, f16, q8_0 or q4_0"},
		{"eval missing split", runEval, []string{"--model", model, "--data", t.TempDir(), "--out", filepath.Join(t.TempDir(), "r")}, "test.jsonl"},
		{"eval missing adapter", runEval, []string{"--model", model, "--adapter", filepath.Join(split, "nope"), "--data", split, "--out", filepath.Join(t.TempDir(), "r")}, "nope"},
		{"eval compare adapter alone", runEval, []string{"--model", model, "--compare-adapter", "x", "--data", split, "--out", "r"}, "--compare-model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runVerbQuiet(t, tc.run, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func itoa64(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
