package main

import (
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	f, err := parseFlags(nil)
	if err != nil || f.addr != "127.0.0.1:8080" || f.data != "data" || f.eng.MaxBatch != 8 {
		t.Fatalf("defaults: %+v %v", f, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--adapter", "x"}, "--adapter needs --model"},
		{[]string{"--tls-cert", "c"}, "--tls-cert and --tls-key"},
		{[]string{"stray"}, "unexpected argument"},
	} {
		if _, err := parseFlags(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
