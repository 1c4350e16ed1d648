package retrieve

import (
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Passage is one MedQuAD answer with where it comes from.
type Passage struct {
	ID       string `json:"id"`            // source/file/pair, e.g. "CancerGov/0000001_1/1"
	Doc      string `json:"doc,omitempty"` // the XML file in the collection, e.g. "1_CancerGov_QA/0000001_1.xml"
	Question string `json:"question"`
	Answer   string `json:"answer"`
	Focus    string `json:"focus,omitempty"`
	QType    string `json:"qtype,omitempty"`
	Source   string `json:"source,omitempty"` // MedQuAD's source code: GHR, GARD, CancerGov, …
	URL      string `json:"url,omitempty"`
}

// Params are the scoring constants (see the package comment).
type Params struct {
	K1, B      float64
	FocusBoost float64
}

// DefaultParams: BM25's textbook k1 and b, and a focus boost of one
// (a matched focus adds its tokens' idf once more).
var DefaultParams = Params{K1: 1.2, B: 0.75, FocusBoost: 1}

// maxFocusTokens bounds the query n-grams looked up as foci; MedQuAD's
// longest foci are under this.
const maxFocusTokens = 16

type posting struct {
	doc uint32
	tf  uint32
}

// Index is an in-memory BM25 index. It is read-only after NewIndex, so
// concurrent searches are safe.
type Index struct {
	p        Params
	n        int
	avgdl    float64
	norm     []float32 // per passage: k1·(1 − b + b·|d|/avgdl)
	postings map[string][]posting
	idf      map[string]float64
	focus    map[string][]uint32 // focus tokens joined by " " → passages
	focusIDF map[string]float64
}

// Hit is one retrieved passage: its index in the slice given to NewIndex and
// its score.
type Hit struct {
	Doc   int
	Score float64
}

// NewIndex indexes passages' question, focus and answer.
func NewIndex(passages []Passage, p Params) *Index {
	ix := &Index{
		p: p, n: len(passages),
		norm:     make([]float32, len(passages)),
		postings: map[string][]posting{},
		idf:      map[string]float64{},
		focus:    map[string][]uint32{},
		focusIDF: map[string]float64{},
	}
	// Terms get dense ids while indexing, so that counting a passage's
	// terms is slice arithmetic rather than a map per passage.
	termID := map[string]int{}
	var names []string
	var buf []byte
	var lists [][]posting
	var count []uint32
	var touched []int
	lens := make([]int, len(passages))
	total := 0
	for i, ps := range passages {
		n := 0
		for _, text := range [...]string{ps.Question, ps.Focus, ps.Answer} {
			buf = terms(text, buf, func(t []byte) {
				id, ok := termID[string(t)]
				if !ok {
					id = len(names)
					termID[string(t)] = id
					names = append(names, string(t))
					lists = append(lists, nil)
					count = append(count, 0)
				}
				if count[id] == 0 {
					touched = append(touched, id)
				}
				count[id]++
				n++
			})
		}
		for _, id := range touched {
			lists[id] = append(lists[id], posting{uint32(i), count[id]})
			count[id] = 0
		}
		touched = touched[:0]
		lens[i] = n
		total += n
		if key := strings.Join(Tokenize(ps.Focus), " "); key != "" {
			ix.focus[key] = append(ix.focus[key], uint32(i))
		}
	}
	if ix.n > 0 {
		ix.avgdl = float64(total) / float64(ix.n)
	}
	for i, l := range lens {
		ix.norm[i] = float32(p.K1 * (1 - p.B + p.B*float64(l)/max(ix.avgdl, 1)))
	}
	for id, t := range names {
		ix.postings[t] = lists[id]
		ix.idf[t] = IDF(ix.n, len(lists[id]))
	}
	for key := range ix.focus {
		s := 0.0
		for _, t := range strings.Split(key, " ") {
			s += ix.idf[t]
		}
		ix.focusIDF[key] = s
	}
	return ix
}

// IDF is BM25's idf of a term held by df of n passages.
func IDF(n, df int) float64 {
	return math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
}

// Len is the number of passages indexed.
func (ix *Index) Len() int { return ix.n }

// Search returns the k best passages for query, best first; ties go to the
// earlier passage. It returns fewer when fewer passages share a term with
// the query.
func (ix *Index) Search(query string, k int) []Hit {
	return ix.SearchFilter(query, k, nil)
}

// SearchFilter is Search over the passages for which keep returns true
// (all when keep is nil).
func (ix *Index) SearchFilter(query string, k int, keep func(doc int) bool) []Hit {
	if k <= 0 || ix.n == 0 {
		return nil
	}
	q := Tokenize(query)
	// A dense score array: a common term ("disease") touches thousands of
	// passages, which a map would make the slow part of a query.
	scores := make([]float64, ix.n)
	var touched []uint32
	add := func(d uint32, s float64) {
		if scores[d] == 0 {
			touched = append(touched, d)
		}
		scores[d] += s
	}
	seen := map[string]bool{}
	for _, t := range q {
		if seen[t] {
			continue
		}
		seen[t] = true
		idf := ix.idf[t]
		for _, ps := range ix.postings[t] {
			f := float64(ps.tf)
			add(ps.doc, idf*f*(ix.p.K1+1)/(f+float64(ix.norm[ps.doc])))
		}
	}
	if ix.p.FocusBoost != 0 {
		for i := range q {
			for j := i + 1; j <= len(q) && j-i <= maxFocusTokens; j++ {
				key := strings.Join(q[i:j], " ")
				docs, ok := ix.focus[key]
				if !ok {
					continue
				}
				boost := ix.p.FocusBoost * ix.focusIDF[key]
				for _, d := range docs {
					add(d, boost)
				}
			}
		}
	}
	hits := make([]Hit, 0, 4*k)
	for _, d := range touched {
		if keep != nil && !keep(int(d)) {
			continue
		}
		h := Hit{int(d), scores[d]}
		// Keep the best 4k candidates only; sorting thousands of touched
		// passages would cost more than scoring them.
		if len(hits) == cap(hits) {
			sortHits(hits)
			hits = hits[:k]
		}
		hits = append(hits, h)
	}
	sortHits(hits)
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}

// sortHits orders best first; ties go to the earlier passage.
func sortHits(hits []Hit) {
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Doc < hits[j].Doc
	})
}

// stopwords are dropped from queries and passages: function words and the
// question words of MedQuAD's templates ("What is (are) X?", "How to
// diagnose X?"), which every passage of a type shares.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be by can do does for from has have how i in is it its
		me my of on or should that the their there these this those to was were what when where which who why
		will with you your about`) {
		stopwords[w] = true
	}
}

// Tokenize splits text into index terms (see the package comment).
func Tokenize(s string) []string {
	var out []string
	terms(s, nil, func(t []byte) { out = append(out, string(t)) })
	return out
}

// terms calls emit with each index term of s, in a buffer it reuses (emit
// copies what it keeps), and returns the buffer for the next call. Indexing
// runs it over every passage at start-up, so it lower-cases ASCII in place and
// looks maps up without allocating.
func terms(s string, buf []byte, emit func([]byte)) []byte {
	buf = buf[:0]
	flush := func() {
		if len(buf) == 0 || stopwords[string(buf)] {
			buf = buf[:0]
			return
		}
		emit(stemBytes(buf))
		buf = buf[:0]
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				buf = append(buf, c)
			case 'A' <= c && c <= 'Z':
				buf = append(buf, c+'a'-'A')
			default:
				flush()
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			buf = utf8.AppendRune(buf, unicode.ToLower(r))
		} else {
			flush()
		}
		i += n
	}
	flush()
	return buf
}

// stemBytes removes a plural "s" so that "cataracts" finds "cataract".
func stemBytes(w []byte) []byte {
	if len(w) < 5 || w[len(w)-1] != 's' {
		return w
	}
	switch w[len(w)-2] {
	case 's', 'u', 'i':
		return w
	}
	for _, c := range w {
		if '0' <= c && c <= '9' {
			return w
		}
	}
	return w[:len(w)-1]
}
