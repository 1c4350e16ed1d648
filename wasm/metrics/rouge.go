package metrics

import (
	"slices"
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

type interner map[string]int32

func (in interner) text(text string, stem bool) rougeText {
	toks, breaks := rougeTokenize(text, stem, nil)
	ids := make([]int32, len(toks))
	for i, t := range toks {
		id, ok := in[t]
		if !ok {
			id = int32(len(in))
			in[t] = id
		}
		ids[i] = id
	}
	var sents [][]int32
	prev := 0
	for _, b := range append(breaks, len(ids)) {
		if b > prev {
			sents = append(sents, ids[prev:b])
		}
		prev = b
	}
	return rougeText{ids, sents}
}

// RougeScore is evaluate's rouge for one prediction: rouge_score's score
// against one reference, and score_multi against several (for each type on
// its own, the reference with the highest F, the first one on a tie).
func RougeScore(prediction string, references []string, stem bool) Rouge {
	in := interner{}
	pred := in.text(prediction, stem)
	refs := make([]rougeText, len(references))
	for i, r := range references {
		refs[i] = in.text(r, stem)
	}
	return rougeBest(pred, refs, len(in))
}

func rougeBest(pred rougeText, refs []rougeText, vocab int) Rouge {
	var best Rouge
	s := newRougeScratch(vocab)
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
	a, b       []uint64
	prev, cur  []int32
	table      []int32
	cntR, cntC []int32
	union      []bool
}

func newRougeScratch(vocab int) *rougeScratch {
	return &rougeScratch{cntR: make([]int32, vocab), cntC: make([]int32, vocab)}
}

// rougeN is _score_ngrams over n-gram Counters, for n of 1 or 2: sorted
// n-gram keys merged instead of hashed.
func rougeN(target, pred []int32, n int, s *rougeScratch) float64 {
	s.a = ngramKeys(s.a[:0], target, n)
	s.b = ngramKeys(s.b[:0], pred, n)
	inter := 0
	for i, j := 0, 0; i < len(s.a) && j < len(s.b); {
		switch {
		case s.a[i] < s.b[j]:
			i++
		case s.a[i] > s.b[j]:
			j++
		default:
			k := s.a[i]
			ci, cj := 0, 0
			for ; i < len(s.a) && s.a[i] == k; i++ {
				ci++
			}
			for ; j < len(s.b) && s.b[j] == k; j++ {
				cj++
			}
			inter += min(ci, cj)
		}
	}
	precision := float64(inter) / float64(max(len(s.b), 1))
	recall := float64(inter) / float64(max(len(s.a), 1))
	return fmeasure(precision, recall)
}

func ngramKeys(dst []uint64, ids []int32, n int) []uint64 {
	for i := 0; i+n <= len(ids); i++ {
		k := uint64(uint32(ids[i]))
		if n == 2 {
			k = k<<32 | uint64(uint32(ids[i+1]))
		}
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}

// rougeL is _score_lcs: the longest common subsequence over whole texts.
func rougeL(target, pred []int32, s *rougeScratch) float64 {
	if len(target) == 0 || len(pred) == 0 {
		return 0
	}
	lcs := lcsLength(target, pred, s)
	return fmeasure(float64(lcs)/float64(len(pred)), float64(lcs)/float64(len(target)))
}

func lcsLength(ref, can []int32, s *rougeScratch) int {
	s.prev = slices.Grow(s.prev[:0], len(can)+1)[:len(can)+1]
	s.cur = slices.Grow(s.cur[:0], len(can)+1)[:len(can)+1]
	clear(s.prev)
	s.cur[0] = 0
	for _, r := range ref {
		for j, c := range can {
			if r == c {
				s.cur[j+1] = s.prev[j] + 1
			} else {
				s.cur[j+1] = max(s.prev[j+1], s.cur[j])
			}
		}
		s.prev, s.cur = s.cur, s.prev
	}
	return int(s.prev[len(can)])
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

// lcsMark sets s.union[i] for the positions i of ref on the LCS path that
// rouge_score's _backtrack_norec picks (on a tie it moves up, not left).
func lcsMark(ref, can []int32, s *rougeScratch) {
	rows, cols := len(ref)+1, len(can)+1
	s.table = slices.Grow(s.table[:0], rows*cols)[:rows*cols]
	t := s.table
	clear(t[:cols])
	for i := 1; i < rows; i++ {
		row, up := t[i*cols:(i+1)*cols], t[(i-1)*cols:i*cols]
		row[0] = 0
		for j := 1; j < cols; j++ {
			if ref[i-1] == can[j-1] {
				row[j] = up[j-1] + 1
			} else {
				row[j] = max(up[j], row[j-1])
			}
		}
	}
	for i, j := len(ref), len(can); i > 0 && j > 0; {
		switch {
		case ref[i-1] == can[j-1]:
			s.union[i-1] = true
			i--
			j--
		case t[i*cols+j-1] > t[(i-1)*cols+j]:
			j--
		default:
			i--
		}
	}
}
