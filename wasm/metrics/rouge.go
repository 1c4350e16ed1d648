package metrics

import (
	"slices"
	"strings"
)

// Rouge holds ROUGE F-measures as rouge_score 0.1.2 computes them.
type Rouge struct {
	Rouge1    float64 `json:"rouge1"`
	Rouge2    float64 `json:"rouge2"`
	RougeL    float64 `json:"rougeL"`
	RougeLsum float64 `json:"rougeLsum"`
}

// RougeTokens is rouge_score's default tokenizer: Python lower(), every
// character outside [a-z0-9] becomes a separator (so non-ASCII letters split
// words: "Sjögren" -> "sj", "gren"), and with stem the Porter stemmer is
// applied to tokens longer than three characters.
func RougeTokens(text string, stem bool) []string {
	toks, _ := rougeTokenize(text, stem, nil)
	return toks
}

// RougeLsumSentences is how rougeLsum splits a text into sentences: on "\n"
// only, dropping empty pieces.
func RougeLsumSentences(text string) []string {
	var out []string
	for len(text) > 0 {
		i := 0
		for i < len(text) && text[i] != '\n' {
			i++
		}
		if i > 0 {
			out = append(out, text[:i])
		}
		if i == len(text) {
			break
		}
		text = text[i+1:]
	}
	return out
}

// rougeTokenize returns the tokens of text and appends to breaks the token
// index at which each "\n"-separated line after the first starts. Lines
// without tokens change no rougeLsum count, so the tokens of the whole text
// split at breaks are exactly the reference's per-sentence token lists.
func rougeTokenize(text string, stem bool, breaks []int) ([]string, []int) {
	lower := pyLower(text)
	var toks []string
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		tok := lower[start:end]
		if stem && len(tok) > 3 {
			tok = stemASCII(tok)
		}
		toks = append(toks, tok)
		start = -1
	}
	for i := 0; i < len(lower); i++ {
		c := lower[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
		if c == '\n' {
			breaks = append(breaks, len(toks))
		}
	}
	flush(len(lower))
	return toks, breaks
}

// rougeText is one tokenized text, with tokens interned to small ints so the
// counting below works on integer slices.
type rougeText struct {
	ids   []int32
	sents [][]int32 // ids split at the "\n" lines that hold tokens
}

// rougeVocab interns the tokens of one pair, unstemmed and stemmed: each
// distinct token is stemmed once.
type rougeVocab struct {
	raw, stemmed map[string]int32
	stemOf       []int32           // stemmed id by raw id
	stems        map[string]string // stems seen by earlier pairs too
}

func newRougeVocab() *rougeVocab {
	return &rougeVocab{raw: map[string]int32{}, stemmed: map[string]int32{}, stems: map[string]string{}}
}

// stem is stemASCII, remembered across the pairs scored with this vocab
// (answers of one corpus share most of their words).
func (v *rougeVocab) stem(t string) string {
	if st, ok := v.stems[t]; ok {
		return st
	}
	if len(v.stems) >= 1<<16 {
		clear(v.stems)
	}
	st := stemASCII(t)
	v.stems[strings.Clone(t)] = st
	return st
}

func (v *rougeVocab) reset() {
	clear(v.raw)
	clear(v.stemmed)
	v.stemOf = v.stemOf[:0]
}

// texts tokenizes text once and returns it unstemmed and stemmed.
func (v *rougeVocab) texts(text string) (raw, stemmed rougeText) {
	toks, breaks := rougeTokenize(text, false, nil)
	raw.ids = make([]int32, len(toks))
	stemmed.ids = make([]int32, len(toks))
	for i, t := range toks {
		id, ok := v.raw[t]
		if !ok {
			id = int32(len(v.raw))
			v.raw[t] = id
			st := t
			if len(t) > 3 {
				st = v.stem(t)
			}
			sid, ok := v.stemmed[st]
			if !ok {
				sid = int32(len(v.stemmed))
				v.stemmed[st] = sid
			}
			v.stemOf = append(v.stemOf, sid)
		}
		raw.ids[i] = id
		stemmed.ids[i] = v.stemOf[id]
	}
	raw.sents = splitAt(raw.ids, breaks)
	stemmed.sents = splitAt(stemmed.ids, breaks)
	return raw, stemmed
}

func splitAt(ids []int32, breaks []int) [][]int32 {
	var sents [][]int32
	prev := 0
	for _, b := range append(breaks, len(ids)) {
		if b > prev {
			sents = append(sents, ids[prev:b])
		}
		prev = b
	}
	return sents
}

// RougeScore is evaluate's rouge for one prediction: rouge_score's score
// against one reference, and score_multi against several (for each type on
// its own, the reference with the highest F, the first one on a tie).
func RougeScore(prediction string, references []string, stem bool) Rouge {
	plain, stemmed := rougeScores(prediction, references, newRougeVocab(), nil)
	if stem {
		return stemmed
	}
	return plain
}

// rougeScores computes the unstemmed and the stemmed scores together,
// reusing v and s (s may be nil).
func rougeScores(prediction string, references []string, v *rougeVocab, s *rougeScratch) (plain, stemmed Rouge) {
	v.reset()
	pred, predS := v.texts(prediction)
	refs := make([]rougeText, len(references))
	refsS := make([]rougeText, len(references))
	for i, r := range references {
		refs[i], refsS[i] = v.texts(r)
	}
	s = s.fit(len(v.raw))
	return rougeBest(pred, refs, s), rougeBest(predS, refsS, s)
}

func rougeBest(pred rougeText, refs []rougeText, s *rougeScratch) Rouge {
	var best Rouge
	for i, ref := range refs {
		r := Rouge{
			Rouge1:    rougeN(ref.ids, pred.ids, 1, s),
			Rouge2:    rougeN(ref.ids, pred.ids, 2, s),
			RougeL:    rougeL(ref.ids, pred.ids, s),
			RougeLsum: rougeLsum(ref.sents, pred.sents, s),
		}
		if i == 0 {
			best = r
			continue
		}
		best.Rouge1 = max1(best.Rouge1, r.Rouge1)
		best.Rouge2 = max1(best.Rouge2, r.Rouge2)
		best.RougeL = max1(best.RougeL, r.RougeL)
		best.RougeLsum = max1(best.RougeLsum, r.RougeLsum)
	}
	return best
}

// max1 keeps the earlier value unless the later one is strictly larger, as
// numpy's argmax does.
func max1(earlier, later float64) float64 {
	if later > earlier {
		return later
	}
	return earlier
}

// fmeasure is rouge_score.scoring.fmeasure, in the same operation order.
func fmeasure(precision, recall float64) float64 {
	if precision+recall > 0 {
		return 2 * precision * recall / (precision + recall)
	}
	return 0
}

type rougeScratch struct {
	bigrams    keyTable // rouge2 counts
	cntR, cntC []int32  // rougeLsum token counts, by token id
	union      []bool   // rougeLsum LCS positions of one reference sentence
	maskOf     []int32  // LCS match mask index, by token id
	masks      []uint64 // LCS match masks
	row, rows  []uint64 // LCS DP rows as bit vectors
}

func newRougeScratch(vocab int) *rougeScratch {
	return (*rougeScratch)(nil).fit(vocab)
}

// fit returns s (or a new scratch if nil) with room for vocab token ids. The
// per-id arrays are all zero (maskOf all -1) between uses.
func (s *rougeScratch) fit(vocab int) *rougeScratch {
	if s == nil {
		s = &rougeScratch{}
	}
	if len(s.cntR) < vocab {
		n := max(vocab, 2*len(s.cntR))
		s.cntR, s.cntC = make([]int32, n), make([]int32, n)
		s.maskOf = make([]int32, n)
		for i := range s.maskOf {
			s.maskOf[i] = -1
		}
	}
	return s
}

// rougeN is _score_ngrams over n-gram Counters, for n of 1 or 2: the
// intersection is the sum over target n-grams of the smaller count.
func rougeN(target, pred []int32, n int, s *rougeScratch) float64 {
	inter := 0
	if n == 1 {
		for _, t := range pred {
			s.cntC[t]++
		}
		for _, t := range target {
			if s.cntC[t] > 0 {
				s.cntC[t]--
				inter++
			}
		}
		for _, t := range pred {
			s.cntC[t] = 0
		}
	} else {
		t := &s.bigrams
		t.reset(len(pred))
		for i := 0; i+1 < len(pred); i++ {
			t.count[t.insert(bigramKey(pred, i))]++
		}
		for i := 0; i+1 < len(target); i++ {
			t.countOther(bigramKey(target, i))
		}
		t.foldOther()
		for _, slot := range t.used {
			inter += int(min(t.count[slot], t.best[slot]))
		}
	}
	predCount, targetCount := max(len(pred)-n+1, 0), max(len(target)-n+1, 0)
	precision := float64(inter) / float64(max(predCount, 1))
	recall := float64(inter) / float64(max(targetCount, 1))
	return fmeasure(precision, recall)
}

// bigramKey packs ids[i], ids[i+1] into a nonzero key.
func bigramKey(ids []int32, i int) uint64 {
	return uint64(uint32(ids[i])+1)<<32 | uint64(uint32(ids[i+1])+1)
}

// rougeL is _score_lcs: the longest common subsequence over whole texts.
func rougeL(target, pred []int32, s *rougeScratch) float64 {
	if len(target) == 0 || len(pred) == 0 {
		return 0
	}
	lcs := lcsLength(target, pred, s)
	return fmeasure(float64(lcs)/float64(len(pred)), float64(lcs)/float64(len(target)))
}

// rougeLsum is _summary_level_lcs: for each reference sentence the union of
// its LCS positions with every prediction sentence, each token counted at
// most as often as it occurs on both sides.
func rougeLsum(refSents, predSents [][]int32, s *rougeScratch) float64 {
	m, n := 0, 0
	for _, r := range refSents {
		m += len(r)
	}
	for _, c := range predSents {
		n += len(c)
	}
	if m == 0 || n == 0 {
		return 0
	}
	for _, r := range refSents {
		for _, t := range r {
			s.cntR[t]++
		}
	}
	for _, c := range predSents {
		for _, t := range c {
			s.cntC[t]++
		}
	}
	hits := 0
	for _, r := range refSents {
		s.union = slices.Grow(s.union[:0], len(r))[:len(r)]
		clear(s.union)
		for _, c := range predSents {
			lcsMark(r, c, s)
		}
		for i, in := range s.union {
			if t := r[i]; in && s.cntC[t] > 0 && s.cntR[t] > 0 {
				hits++
				s.cntC[t]--
				s.cntR[t]--
			}
		}
	}
	// Leave the counters zeroed for the next reference.
	for _, r := range refSents {
		for _, t := range r {
			s.cntR[t] = 0
		}
	}
	for _, c := range predSents {
		for _, t := range c {
			s.cntC[t] = 0
		}
	}
	return fmeasure(float64(hits)/float64(n), float64(hits)/float64(m))
}
