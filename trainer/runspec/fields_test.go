package runspec

import (
	"strconv"
	"testing"
)

func TestFieldsTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields {
		if seen[f.Name] || f.Name == "" || f.Flag == "" || f.Label == "" {
			t.Errorf("field %+v: names must be present and unique", f)
		}
		seen[f.Name] = true
		if f.Default == "" && f.Example == "" {
			t.Errorf("%s: neither a default nor an example for the form", f.Name)
		}
		if !f.Numeric() {
			continue
		}
		if _, err := strconv.ParseFloat(f.Default, 64); err != nil {
			t.Errorf("%s: default %q is not a number", f.Name, f.Default)
		}
		if f.Min > f.Max || f.Check(f.DefaultNumber()) != "" {
			t.Errorf("%s: default %s outside [%g, %g]", f.Name, f.Default, f.Min, f.Max)
		}
	}
}

func TestCheck(t *testing.T) {
	save, _ := Lookup("save_every")
	for v, ok := range map[float64]bool{0: true, 1: false, 9: false, 10: true, 1_000_000: true, 1_000_001: false, -1: false} {
		if got := save.Check(v) == ""; got != ok {
			t.Errorf("save_every %v: accepted %v, want %v (%s)", v, got, ok, save.Check(v))
		}
	}
	if got := save.Check(5); got != "must be 0 or within [10, 1000000]" {
		t.Errorf("message %q", got)
	}
	r, _ := Lookup("lora_r")
	if got := r.Check(0); got != "must be within [1, 1024]" {
		t.Errorf("message %q", got)
	}
	if _, ok := Lookup("learning_rate"); ok {
		t.Error("Lookup found a field that is not in the table")
	}
}
