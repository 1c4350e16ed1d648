package metrics

import (
	"bufio"
	"compress/gzip"
	"os"
	"strings"
	"testing"
)

// TestStemMatchesNLTK compares Stem with nltk 3.8's PorterStemmer on the whole
// MedQuAD rouge vocabulary and the paper's examples (testdata/porter_nltk38.py).
func TestStemMatchesNLTK(t *testing.T) {
	f, err := os.Open("testdata/porter_nltk38.tsv.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(z)
	n, bad := 0, 0
	for sc.Scan() {
		word, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("line %d: no tab", n+1)
		}
		n++
		if got := Stem(word); got != want {
			bad++
			if bad <= 20 {
				t.Errorf("Stem(%q) = %q, NLTK gives %q", word, got, want)
			}
		}
		if len(word) > 3 && isRougeToken(word) {
			if got := stemASCII(word); got != want {
				t.Errorf("stemASCII(%q) = %q, NLTK gives %q", word, got, want)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 29000 || bad > 0 {
		t.Fatalf("%d words, %d differ from NLTK", n, bad)
	}
}

func isRougeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return s != ""
}
