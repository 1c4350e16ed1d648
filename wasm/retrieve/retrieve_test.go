package retrieve

import (
	"compress/gzip"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"medqa/files"
)

func TestTokenize(t *testing.T) {
	got := Tokenize("What are the symptoms of COL7A1-related Epidermolysis Bullosa? Cataracts, type 2 diabetes, BRCA2s.")
	want := []string{"symptom", "col7a1", "related", "epidermolysis", "bullosa", "cataract", "type", "2", "diabete", "brca2s"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tokenize = %q, want %q", got, want)
	}
}

// The BM25 scores of a three-passage corpus, computed by hand (see the
// comments) with k1 1.2, b 0.75, and no focus boost.
func TestBM25ByHand(t *testing.T) {
	kb := []Passage{
		{Question: "gout", Answer: "gout pain"},             // gout×2 pain: |d| 3
		{Question: "anemia", Answer: "anemia fatigue pain"}, // anemia×2 fatigue pain: |d| 4
		{Question: "flu", Answer: "fever"},                  // |d| 2; avgdl = 3
	}
	ix := NewIndex(kb, Params{K1: 1.2, B: 0.75})
	// idf(gout) = ln(1 + 2.5/1.5) = 0.980829; idf(pain) = ln(1 + 1.5/2.5) = 0.470004
	// d0: 0.980829·2·2.2/(2 + 1.2) + 0.470004·2.2/(1 + 1.2) = 1.818644
	// d1: 0.470004·2.2/(1 + 1.2·(0.25 + 0.75·4/3)) = 0.413603
	hits := ix.Search("Gout pain?", 10)
	want := []Hit{{0, 1.818644}, {1, 0.413603}}
	if len(hits) != len(want) {
		t.Fatalf("hits %v, want %v", hits, want)
	}
	for i := range want {
		if hits[i].Doc != want[i].Doc || math.Abs(hits[i].Score-want[i].Score) > 1e-6 {
			t.Fatalf("hit %d = %+v, want %+v", i, hits[i], want[i])
		}
	}
	if got := ix.Search("gout", 1); len(got) != 1 || got[0].Doc != 0 {
		t.Fatalf("k=1: %v", got)
	}
	if got := ix.Search("the of what", 3); len(got) != 0 {
		t.Fatalf("stop words only: %v", got)
	}
}

// The focus boost adds the focus tokens' idf, and the longer focus wins
// when the query holds both.
func TestFocusBoost(t *testing.T) {
	kb := []Passage{
		{Question: "What is glaucoma?", Focus: "Glaucoma", Answer: "Glaucoma damages the optic nerve."},
		{Question: "What is primary congenital glaucoma?", Focus: "Primary congenital glaucoma", Answer: "A form of glaucoma present at birth."},
		{Question: "What is gout?", Focus: "Gout", Answer: "A form of arthritis."},
	}
	plain := NewIndex(kb, Params{K1: 1.2, B: 0.75})
	boosted := NewIndex(kb, Params{K1: 1.2, B: 0.75, FocusBoost: 2})
	q := "What is primary congenital glaucoma?"
	score := func(ix *Index, doc int) float64 {
		for _, h := range ix.Search(q, 3) {
			if h.Doc == doc {
				return h.Score
			}
		}
		t.Fatalf("doc %d not retrieved", doc)
		return 0
	}
	idfGl := IDF(3, 2) // glaucoma is in passages 0 and 1
	idfPC := IDF(3, 1) // primary, congenital: passage 1 only
	if d := score(boosted, 0) - score(plain, 0); math.Abs(d-2*idfGl) > 1e-9 {
		t.Errorf("boost of focus glaucoma = %v, want %v", d, 2*idfGl)
	}
	if d := score(boosted, 1) - score(plain, 1); math.Abs(d-2*(idfGl+2*idfPC)) > 1e-9 {
		t.Errorf("boost of focus primary congenital glaucoma = %v, want %v", d, 2*(idfGl+2*idfPC))
	}
	if h := boosted.Search(q, 1); h[0].Doc != 1 {
		t.Errorf("top hit %v, want the longer focus", h)
	}
	if h := boosted.Search("Is gout hereditary", 1); h[0].Doc != 2 {
		t.Errorf("gout: %v", h)
	}
}

var (
	kbOnce sync.Once
	kbAll  []Passage
	kbErr  error
)

// shippedKB reads files/medquad_kb.jsonl.gz.
func shippedKB(t testing.TB) []Passage {
	kbOnce.Do(func() {
		f, err := os.Open(files.Path(t, "medquad_kb.jsonl.gz"))
		if err != nil {
			kbErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			kbErr = err
			return
		}
		kbAll, kbErr = ReadJSONL(zr)
	})
	if kbErr != nil {
		t.Fatal(kbErr)
	}
	return kbAll
}

// On the shipped knowledge base, questions find passages about their
// subject, with their NIH source.
func TestShippedKB(t *testing.T) {
	kb := shippedKB(t)
	if len(kb) != 16359 {
		t.Fatalf("%d passages, want 16359 (files/README.md)", len(kb))
	}
	ix := NewIndex(kb, DefaultParams)
	for _, c := range []struct{ q, focus string }{
		{"What is glaucoma?", "glaucoma"},
		{"what are the treatments for glaucoma", "glaucoma"},
		{"Is cystic fibrosis inherited?", "cystic fibrosis"},
		{"What causes gout?", "gout"},
		{"How many people have sickle cell disease?", "sickle cell disease"},
	} {
		hits := ix.Search(c.q, 3)
		if len(hits) != 3 {
			t.Fatalf("%q: %d hits", c.q, len(hits))
		}
		for _, h := range hits {
			p := kb[h.Doc]
			if !strings.EqualFold(p.Focus, c.focus) {
				t.Errorf("%q: hit focus %q (%s), want %q", c.q, p.Focus, p.ID, c.focus)
			}
			if !strings.HasPrefix(p.URL, "http") || p.Source == "" {
				t.Errorf("%q: hit %s lacks its source: %+v", c.q, p.ID, p)
			}
		}
	}
	// An answer's type follows the question's words: the treatment question's
	// top passage is a treatment answer.
	if h := ix.Search("What are the treatments for glaucoma?", 1); kb[h[0].Doc].QType != "treatment" {
		t.Errorf("treatment question: top passage is %q", kb[h[0].Doc].QType)
	}
}

func TestReadJSONLNamesTheLine(t *testing.T) {
	_, err := ReadJSONL(strings.NewReader(`{"id":"a","question":"q","answer":"a"}` + "\n{\"id\":\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "line 2:") {
		t.Fatalf("err = %v", err)
	}
	_, err = ReadJSONL(strings.NewReader(`{"id":"a","question":"q","answer":""}`))
	if err == nil || !strings.Contains(err.Error(), `line 1: passage "a" lacks`) {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkSearch(b *testing.B) {
	kb := shippedKB(b)
	ix := NewIndex(kb, DefaultParams)
	qs := []string{"What is glaucoma?", "What are the symptoms of type 2 diabetes?", "What are the genetic changes related to COL7A1 epidermolysis bullosa?", "How to prevent heart disease in older adults?"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Search(qs[i%len(qs)], 3)
	}
}

func BenchmarkNewIndex(b *testing.B) {
	kb := shippedKB(b)
	for i := 0; i < b.N; i++ {
		NewIndex(kb, DefaultParams)
	}
}

func TestAugment(t *testing.T) {
	ps := []Passage{
		{Focus: "Glaucoma", Source: "MPlusHealthTopics", Answer: "Glaucoma is a group\nof diseases."},
		{Question: "What is X?", Source: "Other", Answer: strings.Repeat("w ", PassageWords+5)},
	}
	want := "Answer the question using these passages from NIH and CDC websites.\n\n" +
		"[1] Glaucoma (MedlinePlus (NLM)): Glaucoma is a group of diseases.\n" +
		"[2] What is X? (Other): " + strings.TrimSpace(strings.Repeat("w ", PassageWords)) + " …\n" +
		"\nQuestion: What is glaucoma?"
	if got := Augment("What is glaucoma?", ps); got != want {
		t.Fatalf("Augment =\n%q\nwant\n%q", got, want)
	}
	if got := Augment("Q?", nil); got != "Q?" {
		t.Fatalf("no passages: %q", got)
	}
}

// BenchmarkStartup is the server's start-up cost: decompress, parse and index the shipped
// knowledge base.
func BenchmarkStartup(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f, err := os.Open(files.Path(b, "medquad_kb.jsonl.gz"))
		if err != nil {
			b.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		kb, err := ReadJSONL(zr)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		NewIndex(kb, DefaultParams)
	}
}
