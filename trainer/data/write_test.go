package data

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// Two builds with the same seed write byte-identical files; the files hold
// what the dataset holds.
func TestWriteDirDeterministic(t *testing.T) {
	ds := medquadDataset(t)
	again, err := Build(Config{
		Inputs:       []string{medquadPath(t)},
		Split:        SplitConfig{Seed: 42, Validation: 0.09, Test: 0.10},
		SystemPrompt: DefaultSystemPrompt,
	})
	if err != nil {
		t.Fatal(err)
	}
	// One build goes to disk, the other is encoded in memory: the bytes
	// must agree.
	root := t.TempDir()
	a := filepath.Join(root, "a")
	if err := ds.WriteDir(a); err != nil {
		t.Fatal(err)
	}
	fa := readDir(t, a)
	names := make([]string, 0, len(fa))
	for n := range fa {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(OutputFiles)); !slices.Equal(names, want) {
		t.Fatalf("wrote %v, want %v", names, want)
	}
	fb := map[string][]byte{}
	for s, name := range SplitNames {
		var buf bytes.Buffer
		if err := EncodeJSONL(&buf, again.Splits[s], again.Stats.SystemPrompt); err != nil {
			t.Fatal(err)
		}
		fb[name+".jsonl"] = buf.Bytes()
	}
	var buf bytes.Buffer
	if err := again.Stats.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	fb[StatsFile] = buf.Bytes()
	for _, n := range names {
		if !bytes.Equal(fa[n], fb[n]) {
			t.Errorf("%s differs between two runs with one seed", n)
		}
	}
	for s, name := range SplitNames {
		lines := bytes.Split(bytes.TrimSuffix(fa[name+".jsonl"], []byte("\n")), []byte("\n"))
		if len(lines) != len(ds.Splits[s]) {
			t.Fatalf("%s: %d lines for %d rows", name, len(lines), len(ds.Splits[s]))
		}
		var first Row
		if err := json.Unmarshal(lines[0], &first); err != nil || first != ds.Splits[s][0] {
			t.Errorf("%s: first line %s (%v)", name, lines[0][:80], err)
		}
	}
	var st Stats
	if err := json.Unmarshal(fa[StatsFile], &st); err != nil {
		t.Fatal(err)
	}
	if st.Kept != ds.Stats.Kept || len(st.Splits) != 3 || st.Splits[2].Rows != len(ds.Splits[2]) ||
		st.Inputs[0].Rows != 16407 || st.Dropped[DropDuplicate] != 48 || st.Splits[1].QTypes["information"] == 0 {
		t.Errorf("stats.json does not match the build: %+v", st)
	}
	// Nothing but the output directory is left beside it.
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("%d entries beside the output", len(entries)-1)
	}
}

func smallDataset(t *testing.T) *Dataset {
	t.Helper()
	ds, err := Build(Config{Inputs: []string{"testdata/mle_screening_sample.csv"}, Split: SplitConfig{Seed: 1, Validation: 0.1, Test: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// An earlier output is replaced whole; a directory holding anything else is
// refused and left as it was.
func TestWriteDirReplacePolicy(t *testing.T) {
	ds := smallDataset(t)
	root := t.TempDir()
	out := filepath.Join(root, "nested", "out")
	if err := ds.WriteDir(out); err != nil { // creates the parents
		t.Fatal(err)
	}
	// A stale file from an earlier run is ours, so replacing is allowed,
	// and the replacement holds only fresh files.
	if err := os.WriteFile(filepath.Join(out, "test.jsonl"), []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(out, "train.jsonl")); err != nil {
		t.Fatal(err)
	}
	if err := ds.WriteDir(out); err != nil {
		t.Fatal(err)
	}
	files := readDir(t, out)
	if len(files) != 4 || bytes.Equal(files["test.jsonl"], []byte("stale\n")) {
		t.Errorf("replaced output holds %d files, test.jsonl %q", len(files), files["test.jsonl"][:10])
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "nested")); len(entries) != 1 {
		t.Errorf("%d entries beside the output, want none", len(entries)-1)
	}

	// A foreign file makes the directory off limits.
	foreign := filepath.Join(out, "notes.txt")
	if err := os.WriteFile(foreign, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := ds.WriteDir(out)
	if err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("foreign file: %v", err)
	}
	if b, err := os.ReadFile(foreign); err != nil || string(b) != "mine" {
		t.Error("the foreign file was touched")
	}
	// A plain file is not an output directory.
	file := filepath.Join(root, "file")
	os.WriteFile(file, nil, 0o644)
	if err := ds.WriteDir(file); err == nil {
		t.Error("wrote over a plain file")
	}
}
