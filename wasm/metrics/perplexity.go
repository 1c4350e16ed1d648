package metrics

import (
	"errors"
	"math"
)

// Perplexity is exp of the mean token negative log-likelihood (natural log),
// the value Hugging Face reports as exp(eval_loss).
func Perplexity(meanNLL float64) float64 { return math.Exp(meanNLL) }

// PerplexityFromSum is Perplexity(sumNLL / tokens) for a summed loss; it
// refuses an empty count or a non-finite or negative sum instead of
// returning Inf or NaN into a report.
func PerplexityFromSum(sumNLL float64, tokens int) (float64, error) {
	switch {
	case tokens <= 0:
		return 0, errors.New("metrics: perplexity over zero tokens")
	case math.IsNaN(sumNLL) || math.IsInf(sumNLL, 0) || sumNLL < 0:
		return 0, errors.New("metrics: perplexity of a negative or non-finite loss sum")
	}
	return math.Exp(sumNLL / float64(tokens)), nil
}
