package eval

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"medqa/wasm/metrics"
)

// Scores are one answer's metrics in percent (0-100): SQuAD F1 and exact
// match, ROUGE F-measures (rouge_score, no stemming, as evaluate's default),
// sentence BLEU (evaluate's bleu; null where it is undefined, i.e. an empty
// answer) and sentence sacreBLEU.
type Scores struct {
	F1         float64  `json:"f1"`
	ExactMatch float64  `json:"exact_match"`
	Rouge1     float64  `json:"rouge1"`
	Rouge2     float64  `json:"rouge2"`
	RougeL     float64  `json:"rougeL"`
	RougeLsum  float64  `json:"rougeLsum"`
	BLEU       *float64 `json:"bleu"`
	SacreBLEU  float64  `json:"sacrebleu"`
}

// ScoreOne scores a prediction against its reference.
func ScoreOne(prediction, reference string) (Scores, error) {
	p, err := metrics.Score(prediction, []string{reference})
	if err != nil {
		return Scores{}, err
	}
	s := Scores{F1: 100 * p.Squad.F1, ExactMatch: 100 * p.Squad.ExactMatch,
		Rouge1: 100 * p.Rouge.Rouge1, Rouge2: 100 * p.Rouge.Rouge2, RougeL: 100 * p.Rouge.RougeL, RougeLsum: 100 * p.Rouge.RougeLsum}
	if p.BLEU.Err == nil {
		b := 100 * p.BLEU.Result.BLEU
		s.BLEU = &b
	}
	if p.SacreBLEUSentence != nil {
		s.SacreBLEU = p.SacreBLEUSentence.Score
	}
	return s, nil
}

// Summary is a set of rows' corpus-level scores, in percent: SQuAD F1/EM as
// evaluate's squad, ROUGE as the mean of per-row F-measures, BLEU and
// sacreBLEU from corpus statistics (BLEU null when undefined), and the
// perplexity of the reference answers, exp(Σ NLL / Σ tokens).
type Summary struct {
	N           int      `json:"n"`
	F1          float64  `json:"f1"`
	ExactMatch  float64  `json:"exact_match"`
	Rouge1      float64  `json:"rouge1"`
	Rouge2      float64  `json:"rouge2"`
	RougeL      float64  `json:"rougeL"`
	RougeLsum   float64  `json:"rougeLsum"`
	BLEU        *float64 `json:"bleu"`
	SacreBLEU   float64  `json:"sacrebleu"`
	Perplexity  *float64 `json:"perplexity"` // null when NLL was not measured
	MeanTokens  float64  `json:"mean_answer_tokens"`
	LengthStops int      `json:"length_stops"` // answers cut by --max-new-tokens
	NLLTokens   int      `json:"nll_tokens"`
	// HallucinationRate and GeneSymbols: see Hallucination (overall only).
	HallucinationRate *float64 `json:"hallucination_rate,omitempty"`
	GeneSymbols       *int     `json:"gene_symbols,omitempty"`
	// RetrievalRecallAt3: see RAG.Augment (overall, RAG entries only).
	RetrievalRecallAt3 *float64 `json:"retrieval_recall_at_3,omitempty"`
	corpusScores       *metrics.CorpusScores
}

// summarize computes the Summary of the rows idx of one model's outputs.
func summarize(rows []Row, outs []Output, idx []int) (Summary, error) {
	if len(idx) == 0 {
		return Summary{}, errors.New("eval: summary of no rows")
	}
	preds := make([]string, len(idx))
	refs := make([][]string, len(idx))
	s := Summary{N: len(idx)}
	var nll float64
	for k, i := range idx {
		preds[k], refs[k] = outs[i].Text, []string{rows[i].Reference()}
		s.MeanTokens += float64(outs[i].Tokens)
		if outs[i].Stop == "length" {
			s.LengthStops++
		}
		nll += outs[i].NLL.Sum
		s.NLLTokens += outs[i].NLL.Tokens
	}
	s.MeanTokens /= float64(len(idx))
	c, err := metrics.Corpus(preds, refs)
	if err != nil {
		return Summary{}, err
	}
	s.corpusScores = &c
	s.F1, s.ExactMatch = c.Squad.F1, c.Squad.ExactMatch
	s.Rouge1, s.Rouge2 = 100*c.RougeMean.Rouge1, 100*c.RougeMean.Rouge2
	s.RougeL, s.RougeLsum = 100*c.RougeMean.RougeL, 100*c.RougeMean.RougeLsum
	if c.BLEU.Err == nil {
		b := 100 * c.BLEU.Result.BLEU
		s.BLEU = &b
	}
	if c.SacreBLEU != nil {
		s.SacreBLEU = c.SacreBLEU.Score
	}
	if s.NLLTokens > 0 {
		p, err := metrics.PerplexityFromSum(nll, s.NLLTokens)
		if err != nil {
			return Summary{}, err
		}
		s.Perplexity = &p
	}
	return s, nil
}

// Group is the Summary of the rows sharing a qtype or source.
type Group struct {
	Key     string  `json:"key"`
	Summary Summary `json:"summary"`
}

// groups summarizes rows by key, largest group first (then by name).
func groups(rows []Row, outs []Output, key func(Row) string) ([]Group, error) {
	by := map[string][]int{}
	for i, r := range rows {
		k := key(r)
		if k == "" {
			k = "(none)"
		}
		by[k] = append(by[k], i)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if len(by[keys[a]]) != len(by[keys[b]]) {
			return len(by[keys[a]]) > len(by[keys[b]])
		}
		return keys[a] < keys[b]
	})
	var gs []Group
	for _, k := range keys {
		s, err := summarize(rows, outs, by[k])
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", k, err)
		}
		gs = append(gs, Group{k, s})
	}
	return gs, nil
}

// rowPerplexity is exp(mean NLL) of one answer, or nil.
func rowPerplexity(n NLL) *float64 {
	if n.Tokens == 0 {
		return nil
	}
	p := math.Exp(n.Sum / float64(n.Tokens))
	return &p
}
