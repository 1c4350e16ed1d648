package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"medqa/files/testkit"
)

// TestScoreCLIMatchesVectors pipes the public vectors through the verb and
// checks that each output line has exactly the reference's fields and values.
func TestScoreCLIMatchesVectors(t *testing.T) {
	var v struct {
		Pairs []struct {
			Prediction string          `json:"prediction"`
			References []string        `json:"references"`
			Expected   json.RawMessage `json:"expected"`
		}
		Groups []struct {
			Predictions []string
			References  [][]string
			Expected    map[string]json.RawMessage
		}
	}
	// The metrics package's reference vectors (provenance in its testdata/README.md).
	testkit.ReadJSON(t, "../wasm/metrics/testdata/public_vectors.json.gz", &v)
	var in bytes.Buffer
	for _, p := range v.Pairs {
		line, _ := json.Marshal(map[string]any{"prediction": p.Prediction, "references": p.References})
		in.Write(append(line, '\n'))
	}
	var out bytes.Buffer
	if err := score(&in, &out, "test", false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(v.Pairs) {
		t.Fatalf("%d output lines for %d pairs", len(lines), len(v.Pairs))
	}
	for i, l := range lines {
		if d := jsonDiff("", decode(t, v.Pairs[i].Expected), decode(t, []byte(l))); d != "" {
			t.Errorf("pair %d: %s", i, d)
		}
	}

	g := v.Groups[0]
	in.Reset()
	for i, p := range g.Predictions {
		line, _ := json.Marshal(map[string]any{"prediction": p, "references": g.References[i]})
		in.Write(append(line, '\n'))
	}
	out.Reset()
	if err := score(&in, &out, "test", true); err != nil {
		t.Fatal(err)
	}
	delete(g.Expected, "rouge_bootstrap")
	want, _ := json.Marshal(g.Expected)
	if d := jsonDiff("", decode(t, want), decode(t, out.Bytes())); d != "" {
		t.Errorf("--corpus: %s", d)
	}
}

func decode(t *testing.T, b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// jsonDiff describes the first difference: same keys, numbers within 1e-9.
func jsonDiff(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %v", path, got, want)
		}
		for k := range w {
			if d := jsonDiff(path+"."+k, w[k], g[k]); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %v", path, got, want)
		}
		for i := range w {
			if d := jsonDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
	case float64:
		g, ok := got.(float64)
		if !ok || math.Abs(g-w) > 1e-9*math.Abs(w) {
			return fmt.Sprintf("%s: got %v, want %v", path, got, want)
		}
	default:
		if want != got {
			return fmt.Sprintf("%s: got %v, want %v", path, got, want)
		}
	}
	return ""
}

func TestScoreCLIErrorsNameTheLine(t *testing.T) {
	for in, want := range map[string]string{
		"{\"prediction\":\"a\",\"references\":[\"a\"]}\n\n{\"prediction\":\"a\" \"references\":[]}\n": `in:3: invalid JSON`,
		"{\"prediction\":\"a\",\"references\":[\"a\"]}\n{\"references\":[\"a\"]}":                     `in:2: missing "prediction"`,
		"{\"prediction\":\"a\"}\n":                             `in:1: missing "references"`,
		"{\"prediction\":\"a\",\"references\":[]}\n":           `in:1: "references" is empty`,
		"{\"prediction\":\"a\",\"references\":[\"a\",null]}\n": `in:1: "references"[1] is null`,
		"[1,2]\n": `in:1: invalid JSON`,
	} {
		var out bytes.Buffer
		err := score(strings.NewReader(in), &out, "in", false)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("input %q: error %v, want %q", in, err, want)
		}
		if out.Len() > 0 {
			t.Errorf("input %q: wrote %q before failing", in, out.String())
		}
	}
	var out bytes.Buffer
	if err := score(strings.NewReader("\n"), &out, "in", true); err == nil {
		t.Error("--corpus with no pairs: no error")
	}
}
