package metrics

import "math"

// SacreBLEU is sacrebleu 2.x's BLEUScore as evaluate's sacrebleu returns it:
// score and precisions in percent.
type SacreBLEU struct {
	Score      float64   `json:"score"`
	Counts     []int     `json:"counts"`
	Totals     []int     `json:"totals"`
	Precisions []float64 `json:"precisions"`
	BP         float64   `json:"bp"`
	SysLen     int       `json:"sys_len"`
	RefLen     int       `json:"ref_len"`
}

// sacreStats are sacreBLEU's per-segment statistics, summed over a corpus.
type sacreStats struct {
	sysLen, refLen  int
	correct, totals [BLEUMaxOrder]int
}

// add counts one segment. Text goes through sacreBLEU's 13a, which
// rstrip()s first; the reference length is the one closest to the
// hypothesis length, the shorter on a tie.
func (st *sacreStats) add(hyp string, refs []string, ng *ngramCounter) {
	h := Tokenize13a(hyp, true)
	ng.reset()
	closest, diff := -1, -1
	for _, r := range refs {
		toks := Tokenize13a(r, true)
		ng.addRef(toks)
		d := len(h) - len(toks)
		if d < 0 {
			d = -d
		}
		if diff == -1 || d < diff || (d == diff && len(toks) < closest) {
			closest, diff = len(toks), d
		}
	}
	st.sysLen += len(h)
	st.refLen += closest
	m := ng.match(h)
	for n := 0; n < BLEUMaxOrder; n++ {
		st.correct[n] += m[n]
		if t := len(h) - n; t > 0 {
			st.totals[n] += t
		}
	}
}

// score is sacreBLEU's BLEU.compute_bleu with smooth_method="exp", in
// Python's operation order.
func (st *sacreStats) score(effectiveOrder bool) *SacreBLEU {
	s := &SacreBLEU{
		Counts:     st.correct[:],
		Totals:     st.totals[:],
		Precisions: make([]float64, BLEUMaxOrder),
		SysLen:     st.sysLen,
		RefLen:     st.refLen,
		BP:         1,
	}
	if st.sysLen < st.refLen {
		s.BP = 0
		if st.sysLen > 0 {
			s.BP = math.Exp(1 - float64(st.refLen)/float64(st.sysLen))
		}
	}
	any := false
	for _, c := range st.correct {
		any = any || c != 0
	}
	if !any {
		return s // sacreBLEU stops early with score 0 (its issue #141)
	}
	smooth := 1.0
	order := BLEUMaxOrder
	for n := 1; n <= BLEUMaxOrder; n++ {
		if st.totals[n-1] == 0 {
			break
		}
		if effectiveOrder {
			order = n
		}
		if st.correct[n-1] == 0 {
			smooth *= 2
			s.Precisions[n-1] = 100 / (smooth * float64(st.totals[n-1]))
		} else {
			s.Precisions[n-1] = 100 * float64(st.correct[n-1]) / float64(st.totals[n-1])
		}
	}
	logSum := 0.0
	for _, p := range s.Precisions[:order] {
		if p == 0 {
			logSum += -9999999999 // sacreBLEU's my_log(0)
		} else {
			logSum += math.Log(p)
		}
	}
	s.Score = s.BP * math.Exp(logSum/float64(order))
	return s
}

// SacreBLEUCorpus is sacrebleu.corpus_bleu(predictions, refs) with
// evaluate's defaults (13a, exp smoothing, no effective order).
// references[i] are the references of predictions[i]; pairs may have
// different numbers of references, as sacreBLEU allows with None padding.
func SacreBLEUCorpus(predictions []string, references [][]string) (*SacreBLEU, error) {
	if err := checkCorpus(predictions, references); err != nil {
		return nil, err
	}
	var st sacreStats
	ng := newNgramCounter()
	for i, p := range predictions {
		st.add(p, references[i], ng)
	}
	return st.score(false), nil
}

// SacreBLEUSentence is sacrebleu.sentence_bleu(prediction, references):
// exp smoothing and effective order.
func SacreBLEUSentence(prediction string, references []string) (*SacreBLEU, error) {
	if len(references) == 0 {
		return nil, ErrNoReferences
	}
	var st sacreStats
	st.add(prediction, references, newNgramCounter())
	return st.score(true), nil
}
