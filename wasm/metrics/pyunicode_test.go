package metrics

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"unicode/utf8"
)

// TestPythonCharacterSemantics checks the Python string helpers against
// CPython 3.11 itself for every code point (testdata/py311_unicode.py).
func TestPythonCharacterSemantics(t *testing.T) {
	b, err := os.ReadFile("testdata/py311_unicode.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Python, Unicode string
		Lower           map[string][]rune
		Space, Word     [][2]rune
		CasedFinal      [][2]rune `json:"cased_final"`
		Ignorable       [][2]rune
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	in := func(rs [][2]rune) func(rune) bool {
		set := map[rune]bool{}
		for _, r := range rs {
			for c := r[0]; c <= r[1]; c++ {
				set[c] = true
			}
		}
		return func(c rune) bool { return set[c] }
	}
	space, word, casedFinal, ignorable := in(d.Space), in(d.Word), in(d.CasedFinal), in(d.Ignorable)
	lower := map[rune]string{}
	for k, v := range d.Lower {
		cp, err := strconv.Atoi(k)
		if err != nil {
			t.Fatal(err)
		}
		lower[rune(cp)] = string(v)
	}
	bad := 0
	for r := rune(0); r <= utf8.MaxRune && bad < 20; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		want, ok := lower[r]
		if !ok {
			want = string(r)
		}
		check := func(what string, got, want any) {
			if got != want {
				t.Errorf("U+%04X %s: got %v, Python %s gives %v", r, what, got, d.Python, want)
				bad++
			}
		}
		check("lower", pyLower(string(r)), want)
		check("isspace", isPySpace(r), space(r))
		check(`\w`, isPyWord(r), word(r))
		check("cased and not ignorable", isCased(r) && !isCaseIgnorable(r), casedFinal(r))
		check("case-ignorable", isCaseIgnorable(r), ignorable(r))
	}
}

func TestPyLowerFinalSigma(t *testing.T) {
	for in, want := range map[string]string{
		"ΑΣΘΜΑΣ":      "ασθμας",
		"Σ":           "σ",
		"ΑΣ.":         "ας.",
		"ΑΣ'Β":        "ασ'β", // ' is case-ignorable: a cased letter follows
		"ΑΣ Β":        "ας β",
		"'Σ":          "'σ",
		"A\u0301Σ":    "a\u0301ς",
		"İbuprofen":   "i\u0307buprofen",
		"\u212Aelvin": "kelvin",
		"ÀÉ\xffZ":     "àé\xffz",
	} {
		if got := pyLower(in); got != want {
			t.Errorf("pyLower(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPySplitAndRstrip(t *testing.T) {
	s := "\x1ca\u00a0b\u2028c\u0085d\u200be\u3000 "
	got := pySplit(s)
	want := []string{"a", "b", "c", "d\u200be"}
	if len(got) != len(want) {
		t.Fatalf("pySplit(%q) = %q, want %q", s, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("pySplit(%q) = %q, want %q", s, got, want)
		}
	}
	if got := pyRstrip("x-\n\x1f\u00a0"); got != "x-" {
		t.Errorf("pyRstrip = %q", got)
	}
}
