package qwen2

import (
	"context"
	"sync"
	"testing"
	"time"

	"medqa/files/testkit"
)

var bench struct {
	once sync.Once
	m    *Model
	err  error
}

func benchModel(b *testing.B) *Model {
	bench.once.Do(func() {
		dt, dev, _ := testTarget(b)
		bench.m, bench.err = NewRandom(shapeConfig(testkit.Qwen25), 0, dt, dev) // Qwen2.5-0.5B's shape, random weights
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.m
}

// BenchmarkDecode: greedy decoding after a 128-token prompt, through Generate
// (the product path: cache, matrix-vector products, logits copied out, sampler).
// One op is 32 decoded tokens; tok/s is the decode rate.
func BenchmarkDecode(b *testing.B) {
	m := benchModel(b)
	prompt := seq(128, 7919, 13, m.Config.VocabSize) // the peer's prompt
	const steps = 32
	var decode time.Duration
	for i := 0; i < b.N; i++ {
		var first time.Time
		n := 0
		_, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: steps + 1,
			OnToken: func(int, int64) error {
				if n == 0 {
					first = time.Now()
				}
				n++
				return nil
			}})
		if err != nil {
			b.Fatal(err)
		}
		decode += time.Since(first)
	}
	b.ReportMetric(float64(steps*b.N)/decode.Seconds(), "tok/s")
}

// BenchmarkPrefill: a 512-token prompt through the cache path, logits for the last token.
func BenchmarkPrefill(b *testing.B) {
	m := benchModel(b)
	prompt := seq(512, 7919, 13, m.Config.VocabSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(512*b.N)/b.Elapsed().Seconds(), "tok/s")
}
