package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// PublishDir replaces an existing directory with a privately created one, giving it the
// modes of published files.
func TestPublishDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "old.txt"), []byte("old"), 0o644)
	tmp, err := os.MkdirTemp(root, ".out.tmp-") // 0700, as MkdirTemp makes it
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(tmp, "sub"), 0o700)
	if err := os.WriteFile(filepath.Join(tmp, "sub", "new.txt"), []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := PublishDir(tmp, dir); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{dir: 0o755, filepath.Join(dir, "sub"): 0o755, filepath.Join(dir, "sub", "new.txt"): 0o644} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want mode %v", path, fi, err, mode)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "old.txt")); err == nil {
		t.Error("the old directory's file is still there")
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Errorf("%d entries in the parent, want only the published directory", len(ents))
	}
}
