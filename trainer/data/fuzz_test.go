package data

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzLoadCSV: any bytes give rows or an error that names the file, never a panic.
func FuzzLoadCSV(f *testing.F) {
	f.Add([]byte("question,answer\nWhat is anemia?,A lack of red cells.\n"))
	f.Add([]byte("question,answer\n\"unterminated,x\n"))
	f.Add([]byte("\xef\xbb\xbfquestion,answer,source\nq,a,s\n"))
	f.Add([]byte("a,b\n\xff,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Empty rows are kept: the cleaning step reports and drops them.
		if _, err := loadCSV("fuzz.csv", bytes.NewReader(data)); err != nil && !strings.Contains(err.Error(), "fuzz.csv") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// FuzzLoadPubMedQA: the JSON loader, with and without contexts.
func FuzzLoadPubMedQA(f *testing.F) {
	f.Add([]byte(`{"1":{"QUESTION":"Is it?","LONG_ANSWER":"Yes.","CONTEXTS":["c"],"LABELS":["L"]}}`), true)
	f.Add([]byte(`{"1":{"QUESTION":"Is it?"}}`), false)
	f.Add([]byte(`{"1":{"QUESTION":"a","LONG_ANSWER":"b"},"1":{}}`), false)
	f.Add([]byte("{\n\"2\": [1, 2"), true)
	f.Fuzz(func(t *testing.T, data []byte, withContext bool) {
		_, err := loadPubMedQA("fuzz.json", bytes.NewReader(data), LoadOptions{PubMedQAContext: withContext})
		if err != nil && !strings.Contains(err.Error(), "fuzz.json") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
