package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplacesWholeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(got) != "new content\n" || st.Mode().Perm() != 0o644 {
		t.Fatalf("content %q mode %v", got, st.Mode().Perm())
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x"), []byte("x"), 0o644); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want only config.json", len(ents))
	}
}

func TestReplaceDirSwapsWholeDirectories(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	write := func(d, name, content string) {
		t.Helper()
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// First publication: nothing to move aside.
	write(filepath.Join(root, ".out.tmp-1"), "a.json", "one")
	if err := ReplaceDir(filepath.Join(root, ".out.tmp-1"), dir); err != nil {
		t.Fatal(err)
	}
	// Second: the old directory's files must not survive beside the new ones.
	write(filepath.Join(root, ".out.tmp-2"), "b.json", "two")
	if err := ReplaceDir(filepath.Join(root, ".out.tmp-2"), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.json")); !os.IsNotExist(err) {
		t.Fatalf("a.json of the replaced directory survived: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "b.json")); string(got) != "two" {
		t.Fatalf("b.json = %q", got)
	}
	// A failed publication (tmp missing) keeps the old directory.
	if err := ReplaceDir(filepath.Join(root, ".out.tmp-3"), dir); err == nil {
		t.Fatal("publishing a missing directory succeeded")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "b.json")); string(got) != "two" {
		t.Fatalf("after a failed swap b.json = %q, want the old directory back", got)
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 {
		t.Fatalf("root holds %d entries, want only out", len(ents))
	}
}

func TestTempDirSitsBesideItsTarget(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "out")
	tmp, err := TempDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(tmp)
	if err != nil || !st.IsDir() || st.Mode().Perm() != 0o755 {
		t.Fatalf("TempDir made %v (%v), want a 0755 directory", st, err)
	}
	if filepath.Dir(tmp) != filepath.Dir(dir) {
		t.Fatalf("TempDir %s is not beside %s, so the rename could cross file systems", tmp, dir)
	}
	if err := ReplaceDir(tmp, dir); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("published directory: %v (%v), want 0755", st, err)
	}
}
