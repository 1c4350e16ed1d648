package tokenizer

import (
	"encoding/json"
	"strings"
	"testing"
)

// The scanner agrees with encoding/json on strings with every kind of
// escape, and rejects malformed input.
func TestScannerStrings(t *testing.T) {
	for _, lit := range []string{`"plain"`, `"a\"b\\c\/d"`, `"\b\f\n\r\t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ude00"`, `""`, `"Ġthe"`} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatal(lit, err)
		}
		s := &scanner{data: lit}
		if got, err := s.str(); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", lit, got, err, want)
		}
	}
	for _, bad := range []string{`"open`, `"a\x"`, `"\u12"`, "\"tab\t\"", `x`} {
		s := &scanner{data: bad}
		if _, err := s.str(); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestDecodeTokenizerJSONErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not an object":  `[]`,
		"trailing":       `{"model": {"vocab": {}, "merges": []}} x`,
		"bad id":         `{"model": {"vocab": {"a": -1}, "merges": []}}`,
		"duplicate":      `{"model": {"vocab": {"a": 0, "a": 1}, "merges": []}}`,
		"bad merge":      `{"model": {"vocab": {"a": 0}, "merges": ["a"]}}`,
		"bad pair":       `{"model": {"vocab": {"a": 0}, "merges": [["a"]]}}`,
		"no merges":      `{"model": {"vocab": {"a": 0}}}`,
		"unclosed":       `{"model": {"vocab": {"a": 0}, "merges": [`,
		"bad small part": `{"added_tokens": 5, "model": {"vocab": {}, "merges": []}}`,
	} {
		var f fileJSON
		if _, err := decodeTokenizerJSON([]byte(doc), &f); err == nil || !strings.HasPrefix(err.Error(), "tokenizer.json") {
			t.Errorf("%s: got %v", name, err)
		}
	}
	var f fileJSON
	merges, err := decodeTokenizerJSON([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}, "added_tokens": []}`), &f)
	if err != nil || len(merges) != 1 || merges[0] != [2]string{"a", "b"} || f.Model.Type != "BPE" || f.Model.Vocab["ab"] != 2 {
		t.Errorf("pair merges: %v %+v %v", merges, f.Model, err)
	}
}
