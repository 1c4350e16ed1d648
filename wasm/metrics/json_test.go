package metrics

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"
)

// TestScoresJSONRoundTrip decodes what Score encodes, BLEU errors included,
// so reports written by the trainer can be read back.
func TestScoresJSONRoundTrip(t *testing.T) {
	for _, refs := range [][]string{{"Glaucoma is damage to the optic nerve."}, {""}} {
		s, err := Score("Glaucoma damages the optic nerve.", refs)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back PairScores
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("round trip of %s gave %+v", b, back)
		}
	}
}

// TestScoreConcurrent scores from several goroutines at once (the pooled
// scratch must not be shared) and expects the sequential results.
func TestScoreConcurrent(t *testing.T) {
	preds := []string{"The patient has pneumonia.", "Insulin insulin INSULIN insulin.", "Glaucoma damages\nthe optic nerve."}
	refs := [][]string{{"The patient has pneumonia.", "Pneumonia."}, {"insulin"}, {"Glaucoma is damage to the optic nerve."}}
	want := make([]PairScores, len(preds))
	for i := range preds {
		want[i], _ = Score(preds[i], refs[i])
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 200; k++ {
				i := (g + k) % len(preds)
				if got, _ := Score(preds[i], refs[i]); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("concurrent Score(%q) differs", preds[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}
