package metrics

import (
	"encoding/json"
	"math"
	"slices"
)

// BLEUMaxOrder is the n-gram order of evaluate's bleu and of sacreBLEU.
const BLEUMaxOrder = 4

// BLEU is what evaluate's bleu returns: tensorflow/nmt's compute_bleu over
// evaluate's tokenizer_13a, max order 4, no smoothing.
type BLEU struct {
	BLEU              float64   `json:"bleu"`
	Precisions        []float64 `json:"precisions"`
	BrevityPenalty    float64   `json:"brevity_penalty"`
	LengthRatio       float64   `json:"length_ratio"`
	TranslationLength int       `json:"translation_length"`
	ReferenceLength   int       `json:"reference_length"`
}

// ZeroDivisionError is returned where compute_bleu raises Python's
// ZeroDivisionError: when the corpus's total reference length (sum of the
// shortest reference of each pair) or total translation length is 0.
type ZeroDivisionError struct{}

func (ZeroDivisionError) Error() string { return "float division by zero" }

// BLEUOutcome is a BLEU result or the error the reference raises instead; as
// JSON it is the result object or {"error": "ZeroDivisionError", "message": ...}.
type BLEUOutcome struct {
	Result *BLEU
	Err    error
}

func (o BLEUOutcome) MarshalJSON() ([]byte, error) {
	if o.Err != nil {
		name := "Error"
		if _, ok := o.Err.(ZeroDivisionError); ok {
			name = "ZeroDivisionError"
		}
		return json.Marshal(struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}{name, o.Err.Error()})
	}
	return json.Marshal(o.Result)
}

func (o *BLEUOutcome) UnmarshalJSON(b []byte) error {
	var probe struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return err
	}
	if probe.Error != "" {
		*o = BLEUOutcome{Err: ZeroDivisionError{}}
		return nil
	}
	o.Err = nil
	o.Result = new(BLEU)
	return json.Unmarshal(b, o.Result)
}

// bleuStats are the sufficient statistics compute_bleu sums over a corpus.
type bleuStats struct {
	matches, possible [BLEUMaxOrder]int
	refLen, transLen  int
}

// add counts one pair: its clipped matches, its length and its shortest
// reference's length.
func (st *bleuStats) add(predLen int, refLens []int, m [BLEUMaxOrder]int) {
	st.refLen += slices.Min(refLens)
	st.transLen += predLen
	for n := 0; n < BLEUMaxOrder; n++ {
		st.matches[n] += m[n]
		if p := predLen - n; p > 0 {
			st.possible[n] += p
		}
	}
}

// result is the end of compute_bleu, in Python's operation order.
func (st *bleuStats) result() (*BLEU, error) {
	precisions := make([]float64, BLEUMaxOrder)
	minP := math.Inf(1)
	for i := range precisions {
		if st.possible[i] > 0 {
			precisions[i] = float64(st.matches[i]) / float64(st.possible[i])
		}
		minP = min(minP, precisions[i])
	}
	geoMean := 0.0
	if minP > 0 {
		logSum := 0.0
		for _, p := range precisions {
			logSum += float64(1.0 / BLEUMaxOrder * math.Log(p)) // no fused multiply-add
		}
		geoMean = math.Exp(logSum)
	}
	if st.refLen == 0 || st.transLen == 0 {
		return nil, ZeroDivisionError{}
	}
	ratio := float64(st.transLen) / float64(st.refLen)
	bp := 1.0
	if ratio <= 1 {
		bp = math.Exp(1 - 1/ratio)
	}
	return &BLEU{
		BLEU:              geoMean * bp,
		Precisions:        precisions,
		BrevityPenalty:    bp,
		LengthRatio:       ratio,
		TranslationLength: st.transLen,
		ReferenceLength:   st.refLen,
	}, nil
}

// SentenceBLEU is evaluate's bleu on a single prediction.
func SentenceBLEU(prediction string, references []string) (*BLEU, error) {
	return CorpusBLEU([]string{prediction}, [][]string{references})
}

// CorpusBLEU is evaluate's bleu over a corpus (references[i] belongs to
// predictions[i]). An empty corpus, like one whose predictions (or shortest
// references) are all empty, gives ZeroDivisionError.
func CorpusBLEU(predictions []string, references [][]string) (*BLEU, error) {
	nmt, _, err := corpusBLEUStats(nil, predictions, references)
	if err != nil {
		return nil, err
	}
	return nmt.result()
}
