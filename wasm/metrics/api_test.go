package metrics

import (
	"errors"
	"math"
	"testing"
)

func TestPerplexity(t *testing.T) {
	// A uniform guess over 151,936 tokens (Qwen2.5's vocabulary) has NLL log(V) per token.
	if got := Perplexity(math.Log(151936)); math.Abs(got-151936) > 1e-6 {
		t.Errorf("Perplexity(log V) = %v", got)
	}
	if got, err := PerplexityFromSum(3*2.5, 3); err != nil || got != math.Exp(2.5) {
		t.Errorf("PerplexityFromSum(7.5, 3) = %v, %v", got, err)
	}
	for _, c := range []struct {
		sum float64
		n   int
	}{{1, 0}, {math.NaN(), 3}, {math.Inf(1), 3}, {-1, 3}} {
		if _, err := PerplexityFromSum(c.sum, c.n); err == nil {
			t.Errorf("PerplexityFromSum(%v, %d): no error", c.sum, c.n)
		}
	}
}

func TestInputErrors(t *testing.T) {
	if _, err := Score("x", nil); !errors.Is(err, ErrNoReferences) {
		t.Errorf("Score without references: %v", err)
	}
	if _, err := Corpus(nil, nil); !errors.Is(err, ErrEmptyCorpus) {
		t.Errorf("empty Corpus: %v", err)
	}
	if _, err := Corpus([]string{"a", "b"}, [][]string{{"a"}, {}}); !errors.Is(err, ErrNoReferences) {
		t.Errorf("Corpus with a reference list empty: %v", err)
	}
	if _, err := Corpus([]string{"a"}, [][]string{{"a"}, {"b"}}); err == nil {
		t.Error("Corpus with mismatched lengths: no error")
	}
	// Python's compute_bleu divides by the total lengths.
	if _, err := CorpusBLEU(nil, nil); !errors.As(err, new(ZeroDivisionError)) {
		t.Errorf("CorpusBLEU of nothing: %v", err)
	}
	if _, err := CorpusBLEU([]string{" \u00a0\n"}, [][]string{{"a"}}); !errors.As(err, new(ZeroDivisionError)) {
		t.Errorf("CorpusBLEU of whitespace: %v", err)
	}
}
