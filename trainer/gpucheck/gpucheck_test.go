package gpucheck

import (
	"encoding/json"
	"math"
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
