package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"medqa/backend/runs/faketrainer"
)

// TestMain lets the test binary stand in for the trainer: the runs the end-to-end tests start
// launch os.Args[0] with faketrainer's variable set.
func TestMain(m *testing.M) {
	if os.Getenv(faketrainer.EnvVar) != "" {
		os.Exit(faketrainer.Main())
	}
	if args := os.Getenv(serveEnv); args != "" { // a real server process (startServer)
		var a []string
		json.Unmarshal([]byte(args), &a)
		if err := run(a); err != nil {
			fmt.Fprintln(os.Stderr, "backend:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveEnv makes the test binary run the server's main with these arguments (a JSON list),
// for tests that must kill -9 a server or measure one from outside.
const serveEnv = "MEDQA_TEST_SERVE"

// testPassword is the admin password of every server these tests start.
const testPassword = "correct horse battery"

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

func TestAllowedHostsDefault(t *testing.T) {
	got := allowedHosts("", "192.0.2.7:8080")
	want := []string{"localhost", "127.0.0.1", "::1", "192.0.2.7"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("default for 192.0.2.7:8080: %q, want %q", got, want)
	}
	if got := allowedHosts(" medqa.example.org, localhost ", "127.0.0.1:8080"); strings.Join(got, ",") != "medqa.example.org,localhost" {
		t.Fatalf("--allowed-hosts: %q", got)
	}
	all := allowedHosts("", "0.0.0.0:8080")
	if !slices.Contains(all, "127.0.0.1") || slices.Contains(all, "0.0.0.0") {
		t.Fatalf("listening on every interface: %q, want the machine's addresses", all)
	}
}
