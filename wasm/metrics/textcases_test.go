package metrics

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestTextCasesMatchPython compares the tokenizers and the SQuAD normaliser
// with the reference Python code run by CPython's re engine on 3,000 random
// strings built from the vectors' traps (testdata/python_text_cases.py).
func TestTextCasesMatchPython(t *testing.T) {
	f, err := os.Open("testdata/python_text_cases.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		S         string
		T13a      []string `json:"t13a"`
		T13aR     []string `json:"t13a_r"`
		Rouge     []string `json:"rouge"`
		RougeStem []string `json:"rouge_stem"`
		Squad     string   `json:"squad"`
	}
	if err := json.NewDecoder(z).Decode(&cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 3000 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		for _, chk := range []struct {
			what      string
			got, want []string
		}{
			{"Tokenize13a", Tokenize13a(c.S, false), c.T13a},
			{"Tokenize13a(rstrip)", Tokenize13a(c.S, true), c.T13aR},
			{"RougeTokens", RougeTokens(c.S, false), c.Rouge},
			{"RougeTokens(stem)", RougeTokens(c.S, true), c.RougeStem},
			{"SquadNormalize", []string{SquadNormalize(c.S)}, []string{c.Squad}},
		} {
			if !slices.Equal(chk.got, chk.want) {
				t.Errorf("%s(%q) = %q, Python gives %q", chk.what, c.S, chk.got, chk.want)
			}
		}
	}
}
