package torch

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A library that is not this binary's shim is refused before any function is taken from it: first one
// built from other sources, then one with the right hash that lacks the API.
func TestLoadRefusesAnotherShim(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	build := func(name, hash string) string {
		src := filepath.Join(dir, name+".c")
		so := filepath.Join(dir, name+".so")
		code := `const char* tt_shim_source(void) { return "` + hash + `"; }` + "\n"
		if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", so, src).CombinedOutput(); err != nil {
			t.Fatalf("cc: %v\n%s", err, out)
		}
		return so
	}
	other := build("other", strings.Repeat("0", 64))
	err = loadFrom(other)
	if err == nil || !strings.Contains(err.Error(), "built from other shim sources") || !strings.Contains(err.Error(), other) {
		t.Fatalf("stale shim: got %v", err)
	}
	bare := build("bare", ShimSHA256())
	err = loadFrom(bare)
	if err == nil || !strings.Contains(err.Error(), "lacks tt_free tt_version") {
		t.Fatalf("shim without the API: got %v", err)
	}
	// The real shim is still the one in use.
	if got := FromSlice(nil, []float32{1, 2}, 2).Sum(nil).Item(); got != 3 {
		t.Fatalf("sum after refused loads: %v", got)
	}
	if err := loadFrom(filepath.Join(dir, "missing.so")); err == nil || !strings.Contains(err.Error(), "missing.so") {
		t.Fatalf("missing file: got %v", err)
	}
}

// Without a usable shim the process stops at the first tensor operation with a message that names the
// places looked in; the test binary reruns itself with MEDQA_TORCH_SHIM pointing nowhere.
func TestNoShimStopsWithThePlacesLookedIn(t *testing.T) {
	if os.Getenv("MEDQA_TORCH_SHIM_PROBE") == "1" {
		if Loaded() == nil {
			os.Exit(3)
		}
		FromSlice(nil, []float32{1}, 1) // must not return
		os.Exit(4)
	}
	missing := filepath.Join(t.TempDir(), ShimFile)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestNoShimStopsWithThePlacesLookedIn$")
	cmd.Env = append(os.Environ(), "MEDQA_TORCH_SHIM_PROBE=1", ShimEnv+"="+missing)
	out, err := cmd.CombinedOutput()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 2 || !strings.Contains(string(out), missing+" ($"+ShimEnv+": no such file)") || !strings.Contains(string(out), "make shim") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

// Unset, the variable is reported as such and the shim is looked for beside the executable and in bin/ of
// the repository (how `go test` finds `make shim`'s output).
func TestShimCandidates(t *testing.T) {
	if v, ok := os.LookupEnv(ShimEnv); ok {
		os.Unsetenv(ShimEnv)
		t.Cleanup(func() { os.Setenv(ShimEnv, v) })
	}
	var got []string
	for _, p := range shimCandidates() {
		got = append(got, p.path+"|"+p.what)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	repo, _ := filepath.Abs(filepath.Join("..", "..", "bin", ShimFile))
	want := []string{"|$" + ShimEnv + " (unset)", filepath.Join(filepath.Dir(exe), ShimFile) + "|beside the executable",
		repo + "|the build's repository"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("candidates:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
