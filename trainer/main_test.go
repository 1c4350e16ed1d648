package main

import (
	"errors"
	"flag"
	"os"
	"testing"
)

// main exits 0 on -h because every verb hands its flag set's ErrHelp back
// unchanged (after the flag set printed its usage); a verb that swallowed
// or reworded it would turn -h into "trainer VERB: flag: help requested".
func TestEveryVerbReturnsErrHelpOnDashH(t *testing.T) {
	stderr := os.Stderr
	os.Stderr, _ = os.Open(os.DevNull)
	defer func() { os.Stderr = stderr }()
	for name, v := range verbs {
		if err := v.run([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("trainer %s -h returned %v, want flag.ErrHelp", name, err)
		}
	}
	if len(verbs) < 11 {
		t.Errorf("%d verbs registered, want all 11", len(verbs))
	}
}
