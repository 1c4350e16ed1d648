package metrics_test

import (
	"encoding/json"
	"fmt"

	"medqa/wasm/metrics"
)

// Score gives every metric of one answer against its references: ROUGE
// (plain and stemmed), SQuAD F1 and exact match, evaluate's BLEU and
// sacreBLEU. The numbers are those Hugging Face evaluate reports for the pair.
func ExampleScore() {
	s, err := metrics.Score("Glaucoma damages the optic nerve.", []string{
		"Glaucoma is damage to the optic nerve.",
		"Glaucoma damages the optic nerve, usually due to high eye pressure.",
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("ROUGE-1 %.4f  ROUGE-2 %.4f  ROUGE-L %.4f (stemmed ROUGE-1 %.4f)\n",
		s.Rouge.Rouge1, s.Rouge.Rouge2, s.Rouge.RougeL, s.RougeStemmed.Rouge1)
	fmt.Printf("F1 %.2f  EM %.0f\n", s.Squad.F1, s.Squad.ExactMatch)
	fmt.Printf("BLEU %.4f (brevity penalty %.4f)  sacreBLEU %.2f\n",
		s.BLEU.Result.BLEU, s.BLEU.Result.BrevityPenalty, s.SacreBLEU.Score)
	// Output:
	// ROUGE-1 0.6667  ROUGE-2 0.5714  ROUGE-L 0.6667 (stemmed ROUGE-1 0.8333)
	// F1 0.60  EM 0
	// BLEU 0.7165 (brevity penalty 0.7165)  sacreBLEU 71.65
}

// An empty prediction makes evaluate's BLEU raise ZeroDivisionError; Score
// reports it in the outcome rather than inventing a number.
func ExampleScore_emptyPrediction() {
	s, err := metrics.Score("", []string{"Take 5 mg/kg twice daily."})
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(s.BLEU)
	fmt.Println(string(b), s.SacreBLEU.Score)
	// Output:
	// {"error":"ZeroDivisionError","message":"float division by zero"} 0
}

// Corpus aggregates as evaluate does: corpus BLEU and sacreBLEU over all
// pairs, SQuAD in percent, ROUGE as the plain mean of the pairs.
func ExampleCorpus() {
	c, err := metrics.Corpus(
		[]string{"Glaucoma damages the optic nerve.", ""},
		[][]string{
			{"Glaucoma is damage to the optic nerve.", "Glaucoma damages the optic nerve, usually due to high eye pressure."},
			{"Take 5 mg/kg twice daily."},
		})
	if err != nil {
		panic(err)
	}
	fmt.Printf("BLEU %.4f  sacreBLEU %.2f  F1 %.0f%%  mean ROUGE-L %.4f\n",
		c.BLEU.Result.BLEU, c.SacreBLEU.Score, c.Squad.F1, c.RougeMean.RougeL)
	// Output:
	// BLEU 0.1889  sacreBLEU 18.89  F1 30%  mean ROUGE-L 0.3333
}
