package main

import (
	"strconv"
	"testing"

	"medqa/trainer/runspec"
	"medqa/trainer/sft"
)

// The settings table the server and the admin form use says what `trainer train` does when a
// setting is left out: its defaults are the train verb's flag defaults.
func TestTrainFlagDefaultsAreTheTables(t *testing.T) {
	cfg := sft.Defaults()
	var resume bool
	var df distFlags
	fl := trainFlags(&cfg, &resume, &df)
	for _, f := range runspec.Fields {
		if f.Stage != "" {
			continue // another verb's setting: backend/runs passes it, and its test checks the flag
		}
		flag := fl.Lookup(f.Flag)
		if flag == nil {
			t.Errorf("%s: train has no --%s flag", f.Name, f.Flag)
			continue
		}
		if !f.Numeric() {
			if flag.DefValue != f.Default {
				t.Errorf("%s: --%s defaults to %q, the table says %q", f.Name, f.Flag, flag.DefValue, f.Default)
			}
			continue
		}
		got, err := strconv.ParseFloat(flag.DefValue, 64)
		if err != nil || got != f.DefaultNumber() {
			t.Errorf("%s: --%s defaults to %s, the table says %s", f.Name, f.Flag, flag.DefValue, f.Default)
		}
		if f.Check(got) != "" {
			t.Errorf("%s: the default %v is outside the table's own limits", f.Name, got)
		}
	}
}
