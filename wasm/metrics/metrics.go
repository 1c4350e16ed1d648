package metrics

import (
	"errors"
	"fmt"
	"sync"
)

var (
	// ErrNoReferences: every prediction needs at least one reference.
	ErrNoReferences = errors.New("metrics: no references")
	// ErrEmptyCorpus: corpus scores of nothing are undefined.
	ErrEmptyCorpus = errors.New("metrics: empty corpus")
)

// PairScores are all metrics of one prediction against its references.
type PairScores struct {
	Rouge             Rouge       `json:"rouge"`
	RougeStemmed      Rouge       `json:"rouge_stemmed"`
	Squad             Squad       `json:"squad"`
	BLEU              BLEUOutcome `json:"bleu"`
	SacreBLEU         *SacreBLEU  `json:"sacrebleu"`
	SacreBLEUSentence *SacreBLEU  `json:"sacrebleu_sentence"`
}

// CorpusSquad is evaluate's squad over a corpus, in percent.
type CorpusSquad struct {
	F1         float64 `json:"f1"`
	ExactMatch float64 `json:"exact_match"`
}

// CorpusScores are corpus-level metrics: BLEU and sacreBLEU from corpus
// statistics, SQuAD in percent, ROUGE as the plain mean of per-pair F values
// (evaluate's default bootstrap aggregation is a resampled median instead).
type CorpusScores struct {
	BLEU             BLEUOutcome `json:"bleu"`
	SacreBLEU        *SacreBLEU  `json:"sacrebleu"`
	Squad            CorpusSquad `json:"squad"`
	RougeMean        Rouge       `json:"rouge_mean"`
	RougeStemmedMean Rouge       `json:"rouge_stemmed_mean"`
}

// Score computes every metric of prediction against references.
func Score(prediction string, references []string) (PairScores, error) {
	if len(references) == 0 {
		return PairScores{}, ErrNoReferences
	}
	var s PairScores
	sc := getScratch()
	defer scratchPool.Put(sc)
	s.Rouge, s.RougeStemmed = rougeScores(prediction, references, sc.vocab, sc.rouge)
	s.Squad = SquadScore(prediction, references)
	nmt, sacre, _ := corpusBLEUStats(sc.ngrams, []string{prediction}, [][]string{references})
	b, err := nmt.result()
	s.BLEU = BLEUOutcome{b, err}
	s.SacreBLEU = sacre.score(false)
	s.SacreBLEUSentence = sacre.score(true)
	return s, nil
}

// Corpus computes the corpus-level metrics; references[i] are the
// references of predictions[i].
func Corpus(predictions []string, references [][]string) (CorpusScores, error) {
	if err := checkCorpus(predictions, references); err != nil {
		return CorpusScores{}, err
	}
	if len(predictions) == 0 {
		return CorpusScores{}, ErrEmptyCorpus
	}
	var c CorpusScores
	sc := getScratch()
	defer scratchPool.Put(sc)
	nmt, sacre, _ := corpusBLEUStats(sc.ngrams, predictions, references)
	b, err := nmt.result()
	c.BLEU = BLEUOutcome{b, err}
	c.SacreBLEU = sacre.score(false)
	var f1, em float64
	var r, rs Rouge
	for i, p := range predictions {
		sq := SquadScore(p, references[i])
		f1 += sq.F1
		em += sq.ExactMatch
		plain, stemmed := rougeScores(p, references[i], sc.vocab, sc.rouge)
		r, rs = r.add(plain), rs.add(stemmed)
	}
	n := float64(len(predictions))
	c.Squad = CorpusSquad{F1: 100 * f1 / n, ExactMatch: 100 * em / n}
	c.RougeMean = r.div(n)
	c.RougeStemmedMean = rs.div(n)
	return c, nil
}

func (r Rouge) add(o Rouge) Rouge {
	return Rouge{r.Rouge1 + o.Rouge1, r.Rouge2 + o.Rouge2, r.RougeL + o.RougeL, r.RougeLsum + o.RougeLsum}
}

func (r Rouge) div(n float64) Rouge {
	return Rouge{r.Rouge1 / n, r.Rouge2 / n, r.RougeL / n, r.RougeLsum / n}
}

// checkCorpus rejects mismatched lengths and predictions without references.
func checkCorpus(predictions []string, references [][]string) error {
	if len(predictions) != len(references) {
		return fmt.Errorf("metrics: %d predictions but %d reference lists", len(predictions), len(references))
	}
	for i, refs := range references {
		if len(refs) == 0 {
			return fmt.Errorf("metrics: prediction %d: %w", i, ErrNoReferences)
		}
	}
	return nil
}

// scratch is the reusable working memory of one scoring call.
type scratch struct {
	vocab  *rougeVocab
	rouge  *rougeScratch
	ngrams *ngramCounter
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{vocab: newRougeVocab(), rouge: newRougeScratch(256), ngrams: newNgramCounter()}
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }
