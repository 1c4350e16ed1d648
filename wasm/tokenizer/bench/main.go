// Command bench measures medqa's tokenizer on MedQuAD answers and writes
// the same answers for bench.mjs, which measures transformers.js; bench.sh
// runs both and prints the ratio. Output: one "RESULT" line, with
// throughput by wall time and by CPU time (MB/s; the first pass runs with
// an empty word cache, "warm" is the best later pass).
package main

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"medqa/assets"
	"medqa/wasm/tokenizer"
)

func main() {
	csvPath := flag.String("csv", "files/medquad_qa.csv.gz", "MedQuAD CSV (gzipped)")
	minMB := flag.Float64("mb", 5, "megabytes of answers to encode")
	out := flag.String("answers-out", "", "write the answers as a JSON array here")
	passes := flag.Int("passes", 3, "passes over the answers; the first runs with an empty word cache")
	flag.Parse()

	answers, size, err := readAnswers(*csvPath, int(*minMB*(1<<20)))
	if err != nil {
		log.Fatal(err)
	}
	if *out != "" {
		data, _ := json.Marshal(answers)
		if err := os.WriteFile(*out, data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	start := time.Now()
	tok, err := tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerBase)
	if err != nil {
		log.Fatal(err)
	}
	load := time.Since(start)

	var first, best, firstCPU, bestCPU time.Duration
	var tokens int
	var sum uint32
	var ids []int32
	for p := 0; p < *passes; p++ {
		tokens, sum = 0, 0
		start, startCPU := time.Now(), cpuTime()
		for _, a := range answers {
			ids = tok.AppendEncode32(ids[:0], a)
			tokens += len(ids)
			for _, id := range ids {
				sum = sum*31 + uint32(id)
			}
		}
		d, dCPU := time.Since(start), cpuTime()-startCPU
		if p == 0 {
			first, best, firstCPU, bestCPU = d, d, dCPU, dCPU
		}
		best, bestCPU = min(best, d), min(bestCPU, dCPU)
	}
	mb := float64(size) / 1e6
	fmt.Printf("RESULT go answers=%d bytes=%d load_ms=%.1f cold_MBps=%.2f warm_MBps=%.2f cold_cpu_MBps=%.2f warm_cpu_MBps=%.2f tokens=%d checksum=%d\n",
		len(answers), size, ms(load), mb/first.Seconds(), mb/best.Seconds(), mb/firstCPU.Seconds(), mb/bestCPU.Seconds(), tokens, sum)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// readAnswers returns the first answers of the CSV, at least minBytes.
func readAnswers(path string, minBytes int) ([]string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	r := csv.NewReader(zr)
	if h, err := r.Read(); err != nil || len(h) < 2 || h[1] != "answer" {
		return nil, 0, fmt.Errorf("%s: want a header with answer second, got %v (%v)", path, h, err)
	}
	var out []string
	size := 0
	for size < minBytes {
		rec, err := r.Read()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %d bytes of answers, want %d: %w", path, size, minBytes, err)
		}
		out = append(out, rec[1])
		size += len(rec[1])
	}
	return out, size, nil
}
