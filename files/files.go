// Package files holds medqa's datasets and their licences (this folder) and
// locates them for tests and benchmarks. Everything a test reads is in the
// repository: reference vectors and fixtures sit in the testdata/ folder of
// the package that uses them, with their provenance; shared test support is
// in files/testkit. This package's own tests check the documentation (the
// README's length, every relative link of README.md and docs/).
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
