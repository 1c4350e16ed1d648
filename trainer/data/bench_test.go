package data

import (
	"io"
	"testing"
)

// BenchmarkBuildMedQuAD is the whole pipeline but the disk writes on the
// shipped MedQuAD file: load (gunzip, CSV), clean, split.
func BenchmarkBuildMedQuAD(b *testing.B) {
	path := medquadPath(b)
	for b.Loop() {
		if _, err := Build(Config{Inputs: []string{path}, Split: SplitConfig{Seed: 42, Validation: 0.09, Test: 0.1}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeJSONL is the formatting and JSON encoding of every row.
func BenchmarkEncodeJSONL(b *testing.B) {
	ds := medquadDataset(b)
	rows := allRows(ds)
	b.ResetTimer()
	for b.Loop() {
		if err := EncodeJSONL(io.Discard, rows, DefaultSystemPrompt); err != nil {
			b.Fatal(err)
		}
	}
}
