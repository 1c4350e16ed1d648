package data

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"medqa/files"
)

func medquadPath(t testing.TB) string  { return files.Path(t, "medquad_qa.csv.gz") }
func pubmedqaPath(t testing.TB) string { return files.Path(t, "pubmedqa_ori_pqal.json.gz") }

// writeTemp writes content to a file named name in a fresh directory.
func writeTemp(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t testing.TB, path string, opt LoadOptions) []Row {
	t.Helper()
	rows, _, err := Load(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

var medquadBuild struct {
	once sync.Once
	ds   *Dataset
	err  error
}

// medquadDataset is the shipped MedQuAD file through the pipeline with the
// CLI's defaults, built once per test binary.
func medquadDataset(t testing.TB) *Dataset {
	t.Helper()
	path := medquadPath(t)
	b := &medquadBuild
	b.once.Do(func() {
		b.ds, b.err = Build(Config{
			Inputs:       []string{path},
			Split:        SplitConfig{Seed: 42, Validation: 0.09, Test: 0.10},
			SystemPrompt: DefaultSystemPrompt,
		})
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.ds
}
