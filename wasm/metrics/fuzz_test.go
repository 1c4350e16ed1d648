package metrics

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"", " ", "\n", "-\n", "aspirin-\n", "<skipped>&amp;lt;x&gt;", "Sjögren's İbuprofen ΑΣΘΜΑΣ",
	"1,000.5 x 10^9/L 4-6 hours", "a\u0301 an the aβ", "Rash\u2028spreading\u0085fast\x1c",
	"\xff\xfe invalid \xc3", "e.g., i.e., etc...", "pain pain\npain pain\npain", "\u212A\u0130\u03a3",
	"sky skies dying innings controlling", "y yy yyy ayyy",
}

// FuzzTokenizers checks that the tokenizers never panic and keep their
// invariants on any input, valid UTF-8 or not.
func FuzzTokenizers(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, rstrip := range []bool{false, true} {
			for _, tok := range Tokenize13a(s, rstrip) {
				if tok == "" || strings.IndexFunc(tok, isPySpace) >= 0 {
					t.Fatalf("Tokenize13a(%q): bad token %q", s, tok)
				}
			}
		}
		for _, stem := range []bool{false, true} {
			for _, tok := range RougeTokens(s, stem) {
				if !isRougeToken(tok) {
					t.Fatalf("RougeTokens(%q, %v): bad token %q", s, stem, tok)
				}
			}
		}
		for _, sent := range RougeLsumSentences(s) {
			if sent == "" || strings.Contains(sent, "\n") {
				t.Fatalf("RougeLsumSentences(%q): bad sentence %q", s, sent)
			}
		}
		n := SquadNormalize(s)
		if utf8.ValidString(s) && SquadNormalize(n) != n {
			t.Fatalf("SquadNormalize not idempotent on %q: %q -> %q", s, n, SquadNormalize(n))
		}
		if st := Stem(s); isRougeToken(s) && !isRougeToken(st) {
			t.Fatalf("Stem(%q) = %q", s, st)
		}
		_ = pyLower(s)
		_ = pyRstrip(s)
	})
}

// FuzzScore checks that scoring never panics and that every score stays in
// its range; a prediction scored against itself gets full ROUGE and SQuAD.
func FuzzScore(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, fuzzSeeds[(i+3)%len(fuzzSeeds)], fuzzSeeds[(i+7)%len(fuzzSeeds)])
	}
	f.Fuzz(func(t *testing.T, pred, ref1, ref2 string) {
		s, err := Score(pred, []string{ref1, ref2})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []Rouge{s.Rouge, s.RougeStemmed} {
			for _, v := range []float64{r.Rouge1, r.Rouge2, r.RougeL, r.RougeLsum} {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("rouge out of range: %+v", r)
				}
			}
		}
		if !(s.Squad.F1 >= 0 && s.Squad.F1 <= 1) {
			t.Fatalf("squad f1 %v", s.Squad.F1)
		}
		if b := s.BLEU.Result; b != nil && !(b.BLEU >= 0 && b.BLEU <= 1) {
			t.Fatalf("bleu %v", b.BLEU)
		} else if b == nil {
			if _, ok := s.BLEU.Err.(ZeroDivisionError); !ok {
				t.Fatalf("bleu error %v", s.BLEU.Err)
			}
		}
		for _, sb := range []*SacreBLEU{s.SacreBLEU, s.SacreBLEUSentence} {
			if !(sb.Score >= 0 && sb.Score <= 100+1e-9) {
				t.Fatalf("sacrebleu %v", sb.Score)
			}
		}
		self, _ := Score(pred, []string{pred})
		if len(RougeTokens(pred, false)) > 0 && (self.Rouge.Rouge1 != 1 || self.Rouge.RougeL != 1 || self.Rouge.RougeLsum != 1) {
			t.Fatalf("rouge of %q against itself: %+v", pred, self.Rouge)
		}
		if self.Squad.ExactMatch != 1 {
			t.Fatalf("exact match of %q against itself: %v", pred, self.Squad.ExactMatch)
		}
		if _, err := Corpus([]string{pred, ref1}, [][]string{{ref1}, {ref2, pred}}); err != nil {
			t.Fatal(err)
		}
	})
}
