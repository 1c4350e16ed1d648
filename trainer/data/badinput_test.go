package data

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every malformed input is an error that names the file and the place.
func TestLoadBadInput(t *testing.T) {
	gz := func(s string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	pqa := func(item string) string { return `{"101": ` + item + `}` }
	const okItem = `{"QUESTION": "Q?", "LONG_ANSWER": "A.", "CONTEXTS": ["c1", "c2"], "LABELS": ["L1", "L2"]}`
	cases := []struct {
		name, file, content string
		context             bool
		want                []string // substrings of the error, after the file name
	}{
		{"unclosed quote", "a.csv", "question,answer\n\"What is X?,ans\nq2,a2\n",
			false, []string{":2: unbalanced quotes: a quoted field", "not closed"}},
		{"bare quote", "a.csv", "question,answer\nq1,a1\nq\"2,a2\n",
			false, []string{":3:2: unbalanced quotes: a \" inside an unquoted field"}},
		{"too many fields", "a.csv", "question,answer\nq1,a1\nq2,a2,extra\n",
			false, []string{":3: wrong number of fields: the record has 3, the header has 2"}},
		{"too few fields", "a.csv", "question,answer,qtype,focus,source\nq1,a1,t,f,s\n\"multi\nline\",a2\n",
			false, []string{":3: wrong number of fields: the record has 2, the header has 5"}},
		{"missing header column", "a.csv", "question,reply\nq1,a1\n",
			false, []string{":1: header lacks column(s) answer"}},
		{"headerless", "a.csv", "What is (are) X ?,X is a disease.\n",
			false, []string{":1: header lacks column(s) question, answer"}},
		{"duplicate header column", "a.csv", "question,answer,Answer\nq,a,b\n",
			false, []string{":1: header names column \"answer\" twice"}},
		{"empty csv", "a.csv", "", false, []string{": empty file"}},
		{"invalid utf-8", "a.csv", "question,answer\nq1,a1\nq2,\"first line\nsecond \xff line\"\n",
			false, []string{":4: column \"answer\": invalid UTF-8 (byte 0xff)"}},
		{"invalid utf-8 in gzip", "a.csv.gz", gz("question,answer\nq\xc3,a\n"),
			false, []string{":2: column \"question\": invalid UTF-8"}},
		{"json array", "p.json", `[{"QUESTION": "q"}]`, false, []string{": $: want an object keyed by PubMed ID, got an array"}},
		{"json item not object", "p.json", pqa(`"text"`), false, []string{`:1: $["101"]: want an object, got a string`}},
		{"json missing field", "p.json", pqa(`{"QUESTION": "Q?"}`), false, []string{`:1: $["101"]: missing field LONG_ANSWER`}},
		{"json wrong type", "p.json", pqa(`{"QUESTION": 7, "LONG_ANSWER": "A."}`), false, []string{`:1: $["101"].QUESTION: want a string, got a number`}},
		{"json null", "p.json", pqa(`{"QUESTION": "Q?", "LONG_ANSWER": null}`), false, []string{`$["101"].LONG_ANSWER: want a string, got null`}},
		{"json contexts not array", "p.json", pqa(`{"QUESTION": "Q?", "LONG_ANSWER": "A.", "CONTEXTS": "c"}`), true,
			[]string{`$["101"].CONTEXTS: want an array of strings, got a string`}},
		{"json context element", "p.json", pqa(`{"QUESTION": "Q?", "LONG_ANSWER": "A.", "CONTEXTS": ["c", 3]}`), true,
			[]string{`$["101"].CONTEXTS[1]: want a string, got a number`}},
		{"json labels mismatch", "p.json", pqa(`{"QUESTION": "Q?", "LONG_ANSWER": "A.", "CONTEXTS": ["c"], "LABELS": ["a", "b"]}`), true,
			[]string{`$["101"].LABELS: has 2 entries for 1 CONTEXTS`}},
		{"json duplicate id", "p.json", `{"101": ` + okItem + `, "101": ` + okItem + `}`, false, []string{`$["101"]: PubMed ID appears twice`}},
		{"json syntax", "p.json", "{\n  \"101\": {\"QUESTION\": \"Q?\",,}\n}", false, []string{":2:", "invalid JSON"}},
		{"json truncated", "p.json", `{"101": ` + okItem, false, []string{"unexpected end of JSON"}},
		{"json trailing data", "p.json", pqa(okItem) + "\n{}", false, []string{":2:1: $: data after the top-level object"}},
		{"json invalid utf-8", "p.json", "{\n\"101\": {\"QUESTION\": \"Q\xff\", \"LONG_ANSWER\": \"A\"}}", false, []string{":2:", "invalid UTF-8 (byte 0xff)"}},
		{"not gzip", "a.csv.gz", "question,answer\n", false, []string{": not gzip data"}},
		{"truncated gzip", "a.csv.gz", gz("question,answer\n" + strings.Repeat("q,a\n", 1000))[:60], false, []string{"a.csv.gz", "unexpected EOF"}},
		{"unknown format", "a.txt", "question,answer\n", false, []string{": unknown input format"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeTemp(t, c.file, c.content)
			_, _, err := Load(p, LoadOptions{PubMedQAContext: c.context})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, p) {
				t.Errorf("error %q does not start with the file name", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.csv")
	if _, _, err := Load(missing, LoadOptions{}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	// A directory opens but cannot be read.
	d := filepath.Join(dir, "folder.csv")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(d, LoadOptions{}); err == nil || !strings.Contains(err.Error(), d) {
		t.Errorf("directory: %v", err)
	}
}
