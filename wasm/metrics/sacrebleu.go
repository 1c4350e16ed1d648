package metrics

import (
	"math"
	"slices"
)

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

// add counts one segment; its reference length is the one closest to the
// hypothesis length, the shorter on a tie.
func (st *sacreStats) add(hypLen int, refLens []int, m [BLEUMaxOrder]int) {
	closest, diff := -1, -1
	for _, l := range refLens {
		d := hypLen - l
		if d < 0 {
			d = -d
		}
		if diff == -1 || d < diff || (d == diff && l < closest) {
			closest, diff = l, d
		}
	}
	st.sysLen += hypLen
	st.refLen += closest
	for n := 0; n < BLEUMaxOrder; n++ {
		st.correct[n] += m[n]
		if t := hypLen - n; t > 0 {
			st.totals[n] += t
		}
	}
}

// score is sacreBLEU's BLEU.compute_bleu with smooth_method="exp", in
// Python's operation order.
func (st *sacreStats) score(effectiveOrder bool) *SacreBLEU {
	s := &SacreBLEU{
		Counts:     slices.Clone(st.correct[:]),
		Totals:     slices.Clone(st.totals[:]),
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
	_, sacre, err := corpusBLEUStats(nil, predictions, references)
	if err != nil {
		return nil, err
	}
	return sacre.score(false), nil
}

// SacreBLEUSentence is sacrebleu.sentence_bleu(prediction, references):
// exp smoothing and effective order.
func SacreBLEUSentence(prediction string, references []string) (*SacreBLEU, error) {
	_, sacre, err := corpusBLEUStats(nil, []string{prediction}, [][]string{references})
	if err != nil {
		return nil, err
	}
	return sacre.score(true), nil
}
