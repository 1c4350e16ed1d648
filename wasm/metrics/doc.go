// Package metrics computes the evaluation scores of medqa exactly as the
// Python stack the published numbers come from: ROUGE as rouge_score 0.1.2
// (with NLTK 3.8's Porter stemmer), BLEU as Hugging Face evaluate's bleu
// (tensorflow/nmt compute_bleu), sacreBLEU 2.x corpus and sentence BLEU,
// SQuAD v1.1 F1 and exact match, and perplexity. It is pure Go (no cgo, no
// regexp) so that the server, the trainer and the browser (GOOS=js
// GOARCH=wasm) share it. docs/metrics.md describes each metric, its
// reference and the known differences.
//
//	s, err := metrics.Score(prediction, references)      // PairScores: every metric of one answer
//	c, err := metrics.Corpus(predictions, referenceLists) // CorpusScores: corpus BLEU/sacreBLEU, SQuAD %, ROUGE means
//
// Their JSON is field for field, unit for unit, the expected objects of the
// reference vectors. Single metrics are exported too: RougeScore,
// SentenceBLEU and CorpusBLEU, SacreBLEUSentence and SacreBLEUCorpus,
// SquadScore, Perplexity and PerplexityFromSum, and the text steps
// Tokenize13a, RougeTokens, RougeLsumSentences, SquadNormalize and Stem.
//
// Errors are typed: ZeroDivisionError (where Python's BLEU raises),
// ErrNoReferences, ErrEmptyCorpus. Score and Corpus are safe for concurrent
// use. Scoring many pairs through Corpus, or through Score in a loop, reuses
// pooled working memory and remembered stems.
//
// Where the time goes: the LCS is bit-parallel (Allison–Dix/Hyyrö), so 64
// cells of the table cost one word operation; n-grams are packed into uint64
// and counted in an open-addressing table; each distinct token of a pair is
// stemmed once, and stems are remembered across pairs; working memory comes
// from a sync.Pool.
package metrics
