package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"

	"medqa/files/testkit"
)

// The reference vectors (testdata/public_vectors.json.gz) were produced by
// evaluate, rouge_score, nltk, sacrebleu and nmt's bleu.py; see
// testdata/README.md for their provenance and the traps they pin down.

type vectorFile struct {
	Schema string
	Counts struct{ Pairs, Groups int }
	Pairs  []vectorPair
	Groups []vectorGroup
}

type vectorPair struct {
	ID, Category string
	Prediction   string
	References   []string
	Expected     json.RawMessage
	Intermediate struct {
		Tokens13a          tokLists `json:"tokens_13a"`
		TokensSacre13a     tokLists `json:"tokens_sacrebleu_13a"`
		RougeTokens        tokLists `json:"rouge_tokens"`
		RougeTokensStemmed tokLists `json:"rouge_tokens_stemmed"`
		RougeLsumSentences tokLists `json:"rougeLsum_sentences"`
		SquadNormalized    struct {
			Prediction string
			References []string
		} `json:"squad_normalized"`
	}
}

type tokLists struct {
	Prediction []string
	References [][]string
}

type vectorGroup struct {
	ID          string
	Predictions []string
	References  [][]string
	Expected    json.RawMessage
}

func loadVectors(t testing.TB) vectorFile {
	const path = "testdata/public_vectors.json.gz"
	var v vectorFile
	testkit.ReadJSON(t, path, &v)
	if v.Schema != "metrics-vectors/v1" || len(v.Pairs) != v.Counts.Pairs || len(v.Groups) != v.Counts.Groups || len(v.Pairs) == 0 {
		t.Fatalf("%s: unexpected schema %q or counts", path, v.Schema)
	}
	return v
}

// relTol is the agreement the vectors' README asks for; exact ports land
// within a few ulps (the test logs the largest deviation seen).
const relTol = 1e-9

type comparer struct {
	maxRel float64
	where  string
}

// compare walks the expected JSON and checks that got (our JSON) has every
// field with the same value: integers exactly, floats to relTol relative.
func (c *comparer) compare(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", path, got)}
		}
		var errs []string
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			errs = append(errs, c.compare(path+"."+k, w[k], gv)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				errs = append(errs, fmt.Sprintf("%s.%s: not in the reference", path, k))
			}
		}
		return errs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		var errs []string
		for i := range w {
			errs = append(errs, c.compare(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return errs
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		if !strings.ContainsAny(w.String(), ".eE") { // an integer: exact
			gi, err := g.Int64()
			wi, _ := w.Int64()
			if err != nil || gi != wi {
				return []string{fmt.Sprintf("%s: got %v, want integer %v", path, g, w)}
			}
			return nil
		}
		wf, _ := w.Float64()
		gf, _ := g.Float64()
		d := math.Abs(gf - wf)
		if wf != 0 {
			d /= math.Abs(wf)
		}
		if d > c.maxRel {
			c.maxRel, c.where = d, path
		}
		if d > relTol {
			return []string{fmt.Sprintf("%s: got %v, want %v (rel %.3g)", path, g, w, d)}
		}
		return nil
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
		}
		return nil
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func decodeNumbers(t testing.TB, b []byte) map[string]any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPublicPairs(t *testing.T) {
	v := loadVectors(t)
	var c comparer
	for _, p := range v.Pairs {
		s, err := Score(p.Prediction, p.References)
		if err != nil {
			t.Fatalf("%s: %v", p.ID, err)
		}
		got, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range c.compare(p.ID+"("+p.Category+")", decodeNumbers(t, p.Expected), decodeNumbers(t, got)) {
			t.Error(e)
		}
	}
	t.Logf("%d pairs; largest relative deviation %.3g at %s", len(v.Pairs), c.maxRel, c.where)
}

func TestPublicGroups(t *testing.T) {
	v := loadVectors(t)
	var c comparer
	for _, g := range v.Groups {
		s, err := Corpus(g.Predictions, g.References)
		if err != nil {
			t.Fatalf("%s: %v", g.ID, err)
		}
		got, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want := decodeNumbers(t, g.Expected)
		// The bootstrap median depends on numpy's RNG; the mean is the target.
		delete(want, "rouge_bootstrap")
		for _, e := range c.compare(g.ID, want, decodeNumbers(t, got)) {
			t.Error(e)
		}
	}
	t.Logf("%d groups; largest relative deviation %.3g at %s", len(v.Groups), c.maxRel, c.where)
}

// TestPublicIntermediates checks the token lists the scores are built on.
func TestPublicIntermediates(t *testing.T) {
	v := loadVectors(t)
	for _, p := range v.Pairs {
		im := p.Intermediate
		check := func(what string, want tokLists, f func(string) []string) {
			t.Helper()
			if got := f(p.Prediction); !sameTokens(got, want.Prediction) {
				t.Errorf("%s %s prediction %q: got %q, want %q", p.ID, what, p.Prediction, got, want.Prediction)
			}
			for i, r := range p.References {
				if got := f(r); !sameTokens(got, want.References[i]) {
					t.Errorf("%s %s reference %d %q: got %q, want %q", p.ID, what, i, r, got, want.References[i])
				}
			}
		}
		check("tokens_13a", im.Tokens13a, func(s string) []string { return Tokenize13a(s, false) })
		check("tokens_sacrebleu_13a", im.TokensSacre13a, func(s string) []string { return Tokenize13a(s, true) })
		check("rouge_tokens", im.RougeTokens, func(s string) []string { return RougeTokens(s, false) })
		check("rouge_tokens_stemmed", im.RougeTokensStemmed, func(s string) []string { return RougeTokens(s, true) })
		check("rougeLsum_sentences", im.RougeLsumSentences, RougeLsumSentences)
		check("squad_normalized", tokLists{
			Prediction: []string{im.SquadNormalized.Prediction},
			References: wrap(im.SquadNormalized.References),
		}, func(s string) []string { return []string{SquadNormalize(s)} })
	}
}

func wrap(ss []string) [][]string {
	out := make([][]string, len(ss))
	for i, s := range ss {
		out[i] = []string{s}
	}
	return out
}

func sameTokens(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNgramMapFallback scores the public pairs with the map-based n-gram
// counter that pairs with huge vocabularies use, and expects the same BLEU.
func TestNgramMapFallback(t *testing.T) {
	v := loadVectors(t)
	for _, p := range v.Pairs {
		fast, fastErr := SentenceBLEU(p.Prediction, p.References)
		ngramMaxVocab = 0
		slow, slowErr := SentenceBLEU(p.Prediction, p.References)
		ngramMaxVocab = 0xFFFF
		if !reflect.DeepEqual(fast, slow) || (fastErr == nil) != (slowErr == nil) {
			t.Errorf("%s: packed %+v %v, maps %+v %v", p.ID, fast, fastErr, slow, slowErr)
		}
	}
}
