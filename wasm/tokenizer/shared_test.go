package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir returns ../shared relative to the repository root (the
// directory holding go.mod). Outside CI a missing folder skips the test; in
// CI (CI=true) it fails, so the references can never be silently skipped.
func sharedDir(t testing.TB) string {
	t.Helper()
	shared := filepath.Join(repoRoot(t), "..", "shared")
	if _, err := os.Stat(shared); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference data missing: %v", err)
		}
		t.Skipf("reference data missing (%v); set CI=true to make this fatal", err)
	}
	return shared
}

// repoRoot is the nearest directory above the test holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	return dir
}
