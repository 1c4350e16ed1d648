package metrics

import "slices"

// bleuPair counts one pair into the statistics of both BLEU flavours. They
// differ only where sacreBLEU's rstrip() changes the 13a tokens (a trailing
// "-\n"), so the n-grams are counted once unless the tokens differ.
func bleuPair(ng *ngramCounter, pred string, refs []string, nmt *bleuStats, sacre *sacreStats) {
	predT := Tokenize13a(pred, false)
	refsT := make([][]string, len(refs))
	lens := make([]int, len(refs))
	for i, r := range refs {
		refsT[i] = Tokenize13a(r, false)
		lens[i] = len(refsT[i])
	}
	m := ng.clip(predT, refsT)
	nmt.add(len(predT), lens, m)

	same := true
	predS := rstripTokens(pred, predT, &same)
	refsS := make([][]string, len(refs))
	for i, r := range refs {
		refsS[i] = rstripTokens(r, refsT[i], &same)
	}
	if !same {
		for i := range refsS {
			lens[i] = len(refsS[i])
		}
		m = ng.clip(predS, refsS)
	}
	sacre.add(len(predS), lens, m)
}

// rstripTokens is Tokenize13a(s, true), reusing toks = Tokenize13a(s, false)
// where rstrip() cannot change them; it clears *same when they differ.
func rstripTokens(s string, toks []string, same *bool) []string {
	t := pyRstrip(s)
	if t == s {
		return toks
	}
	rt := Tokenize13a(t, false)
	if !slices.Equal(rt, toks) {
		*same = false
	}
	return rt
}

// corpusBLEUStats tokenizes and counts a whole corpus for both flavours.
func corpusBLEUStats(ng *ngramCounter, predictions []string, references [][]string) (bleuStats, sacreStats, error) {
	var nmt bleuStats
	var sacre sacreStats
	if err := checkCorpus(predictions, references); err != nil {
		return nmt, sacre, err
	}
	if ng == nil {
		ng = newNgramCounter()
	}
	for i, p := range predictions {
		bleuPair(ng, p, references[i], &nmt, &sacre)
	}
	return nmt, sacre, nil
}
