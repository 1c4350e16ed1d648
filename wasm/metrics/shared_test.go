package metrics

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir finds the read-only reference material: ../shared next to the
// repository root (the directory holding go.mod), or, for a git worktree
// nested deeper, the nearest "shared" directory beside an ancestor of it.
// Missing, it fails under CI=true and skips otherwise.
func sharedDir(t testing.TB) string {
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
	for d := dir; ; {
		shared := filepath.Join(filepath.Dir(d), "shared")
		if st, err := os.Stat(shared); err == nil && st.IsDir() {
			return shared
		}
		if filepath.Dir(d) == d {
			break
		}
		d = filepath.Dir(d)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("reference data missing: no shared/ beside %s or its ancestors", dir)
	}
	t.Skipf("reference data missing: no shared/ beside %s or its ancestors; CI=true makes this fatal", dir)
	return ""
}
