// Package files locates medqa's data for tests and benchmarks: the datasets
// shipped in this folder and the read-only reference material (vectors,
// reference model, data) in ../shared beside the repository root.
package files

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot is the nearest directory above the working directory that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Path is a file shipped in files/, e.g. Path(t, "medquad_qa.csv.gz").
func Path(t testing.TB, name string) string {
	return filepath.Join(RepoRoot(t), "files", name)
}

// Shared is ../shared beside the repository root or, for a git worktree nested
// deeper, beside the nearest ancestor that has one. Missing, it fails the test
// under CI=true, so the references are never skipped silently there, and skips
// it otherwise.
func Shared(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	for d := root; ; d = filepath.Dir(d) {
		shared := filepath.Join(filepath.Dir(d), "shared")
		if st, err := os.Stat(shared); err == nil && st.IsDir() {
			return shared
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("reference data missing: no shared/ beside %s or its ancestors", root)
	}
	t.Skipf("reference data missing: no shared/ beside %s or its ancestors; CI=true makes this fatal", root)
	return ""
}
