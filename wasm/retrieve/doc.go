// Package retrieve finds the MedQuAD passages that answer a question: Okapi
// BM25 over each passage's question, focus and answer, plus a boost for a
// passage whose focus (the disease, gene or drug it is about) appears in the
// query word for word. It is pure Go with no dependencies beyond the standard
// library, so it compiles for the browser module too.
//
//	kb, err := retrieve.ReadJSONL(f)        // files/medquad_kb.jsonl.gz, decompressed
//	ix := retrieve.NewIndex(kb, retrieve.DefaultParams)
//	for _, h := range ix.Search("What is glaucoma?", 3) {
//		fmt.Println(h.Score, kb[h.Doc].Focus, kb[h.Doc].URL)
//	}
//
// Scoring. For a query q and passage d,
//
//	score(q, d) = Σ_{t ∈ q} idf(t) · tf(t,d)·(k1+1) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))
//	            + FocusBoost · Σ_{t ∈ focus(d)} idf(t)   if focus(d) occurs in q as a run of tokens
//
// with idf(t) = ln(1 + (N − n(t) + 0.5)/(n(t) + 0.5)) (Lucene's non-negative
// form), N passages, n(t) passages holding t, |d| the passage's token count.
// A query term counts once however often it is repeated. k1 = 1.2 and b = 0.75
// are the textbook values (Robertson & Zaragoza 2009): k1 saturates repeated
// terms in long NIH answers, b normalises their very different lengths. The
// focus boost is the sum of the focus tokens' idf, so a longer, more specific
// focus ("primary congenital glaucoma") outweighs a shorter one it contains
// ("glaucoma") when both occur in the query.
//
// Tokens (Tokenize): lower-cased runs of letters and digits; a small list of
// English stop words and question words is dropped; a plural "s" is removed
// from words of five or more letters (not from "-ss", "-us", "-is" endings nor
// from tokens holding a digit). Tokens mixing letters and digits, such as gene
// symbols (COL7A1 → "col7a1", BRCA2 → "brca2"), stay whole.
package retrieve
