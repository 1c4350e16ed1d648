package metrics

import (
	"bytes"
	"encoding/csv"
	"testing"

	"medqa/files"
	"medqa/files/testkit"
)

// medquadPairs returns n (prediction, reference) pairs of MedQuAD answers:
// consecutive answers, which usually come from the same document and so
// overlap the way a model's answer overlaps the reference.
func medquadPairs(b *testing.B, n int) (preds []string, refs [][]string, words int) {
	path := files.Path(b, "medquad_qa.csv.gz")
	rows, err := csv.NewReader(bytes.NewReader(testkit.ReadFile(b, path))).ReadAll()
	if err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	answers := make([]string, 0, len(rows))
	for _, r := range rows[1:] {
		answers = append(answers, r[1])
	}
	for i := 0; len(preds) < n; i++ {
		p, r := answers[i%len(answers)], answers[(i+1)%len(answers)]
		preds = append(preds, p)
		refs = append(refs, []string{r})
		words += len(pySplit(p)) + len(pySplit(r))
	}
	return preds, refs, words
}

// BenchmarkScoreMedQuAD scores 10,000 MedQuAD answer pairs with every
// metric (ROUGE with and without stemming, SQuAD, BLEU, both sacreBLEUs).
func BenchmarkScoreMedQuAD(b *testing.B) {
	const n = 10000
	preds, refs, words := medquadPairs(b, n)
	b.Logf("%d pairs, %.0f words per text on average", n, float64(words)/(2*n))
	b.ResetTimer()
	for b.Loop() {
		for i := range preds {
			if _, err := Score(preds[i], refs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "pairs/s")
}

// BenchmarkStemMedQuAD stems every rouge token of 10,000 MedQuAD answers.
func BenchmarkStemMedQuAD(b *testing.B) {
	preds, _, _ := medquadPairs(b, 10000)
	var toks []string
	for _, p := range preds {
		toks = append(toks, RougeTokens(p, false)...)
	}
	b.Logf("%d rouge tokens", len(toks))
	b.ResetTimer()
	for b.Loop() {
		for _, t := range toks {
			if len(t) > 3 {
				stemASCII(t)
			}
		}
	}
	b.ReportMetric(float64(len(toks)*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
