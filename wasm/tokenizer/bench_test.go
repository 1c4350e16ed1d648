package tokenizer

import (
	"compress/gzip"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

// medquadAnswers returns the first answers of files/medquad_qa.csv.gz,
// at least minBytes of them.
func medquadAnswers(b *testing.B, minBytes int) []string {
	f, err := os.Open(filepath.Join(repoRoot(b), "files", "medquad_qa.csv.gz"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	r := csv.NewReader(zr)
	header, err := r.Read()
	if err != nil || len(header) < 2 || header[1] != "answer" {
		b.Fatalf("medquad_qa.csv.gz: unexpected header %v (%v)", header, err)
	}
	var out []string
	for n := 0; n < minBytes; {
		rec, err := r.Read()
		if err != nil {
			b.Fatalf("medquad_qa.csv.gz holds less than %d bytes of answers: %v", minBytes, err)
		}
		out = append(out, rec[1])
		n += len(rec[1])
	}
	return out
}

// BenchmarkEncodeMedQuAD encodes 5 MB of MedQuAD answers, one at a time on
// one goroutine; the MB/s column is the throughput. The first pass fills
// the word cache, as any long-running server's would be.
func BenchmarkEncodeMedQuAD(b *testing.B) {
	tok := qwen(b)
	answers := medquadAnswers(b, 5<<20)
	size := 0
	for _, a := range answers {
		size += len(a)
	}
	b.SetBytes(int64(size))
	var ids []int32
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, a := range answers {
			ids = tok.AppendEncode32(ids[:0], a)
		}
	}
}

// BenchmarkLoad times loading the tokenizer from the shipped, gzipped
// tokenizer.json (what the server and the browser read).
func BenchmarkLoad(b *testing.B) {
	dir := filepath.Join(repoRoot(b), "assets", "tokenizer", "qwen2.5")
	for i := 0; i < b.N; i++ {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}
