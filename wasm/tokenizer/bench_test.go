package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"testing"

	"medqa/assets"
	"medqa/files"
)

// medquadAnswers returns the first answers of files/medquad_qa.csv.gz,
// at least minBytes of them.
func medquadAnswers(b testing.TB, minBytes int) []string {
	f, err := os.Open(filepath.Join(files.RepoRoot(b), "files", "medquad_qa.csv.gz"))
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
// one goroutine; the MB/s column is the throughput. "warm" starts with the
// word cache filled by an untimed pass, as a running server's would be;
// "cold" empties it before every pass.
func BenchmarkEncodeMedQuAD(b *testing.B) {
	tok, err := LoadFS(assets.Tokenizer, assets.TokenizerBase)
	if err != nil {
		b.Fatal(err)
	}
	answers := medquadAnswers(b, 5<<20)
	size := 0
	for _, a := range answers {
		size += len(a)
	}
	var ids []int32
	pass := func() {
		for _, a := range answers {
			ids = tok.AppendEncode32(ids[:0], a)
		}
	}
	b.Run("warm", func(b *testing.B) {
		pass()
		b.SetBytes(int64(size))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			pass()
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(int64(size))
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			tok.cache = newWordCache()
			b.StartTimer()
			pass()
		}
	})
}

// BenchmarkLoad times loading the shipped tokenizer, gunzip included:
// "binary" is tokenizer.bin.gz (what Load picks, and what the browser
// fetches), "json" is tokenizer.json.gz.
func BenchmarkLoad(b *testing.B) {
	dir := filepath.Join(files.RepoRoot(b), "assets", "tokenizer", "qwen2.5")
	for _, name := range []string{"tokenizer.bin.gz", "tokenizer.json.gz"} {
		gz, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		cfg, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
		if err != nil {
			b.Fatal(err)
		}
		parse := Parse
		if name == "tokenizer.bin.gz" {
			parse = ParseBinary
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				zr, err := gzip.NewReader(bytes.NewReader(gz))
				if err != nil {
					b.Fatal(err)
				}
				data, err := io.ReadAll(zr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := parse(data, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
