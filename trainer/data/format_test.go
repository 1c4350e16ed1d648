package data

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"medqa/wasm/chat"
)

func TestMessages(t *testing.T) {
	r := Row{Question: "What causes gout?", Answer: "Uric acid."}
	got := r.Messages("Be brief.")
	want := []chat.Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: "What causes gout?"},
		{Role: "assistant", Content: "Uric acid."},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Messages = %+v", got)
	}
	if got := r.Messages(""); !slices.Equal(got, want[1:]) {
		t.Errorf("Messages without system = %+v", got)
	}
	r.Context = "BACKGROUND: b\nRESULTS: r"
	if got := r.Messages("")[0].Content; got != "Context:\nBACKGROUND: b\nRESULTS: r\n\nQuestion: What causes gout?" {
		t.Errorf("user turn with context = %q", got)
	}
}

// A JSONL line holds the row's fields and its messages, with <, > and &
// left as they are.
func TestEncodeJSONL(t *testing.T) {
	rows := []Row{
		{ID: "a-1", Question: "Is <b> & c ok?", Answer: "Yes.", QType: "other", Source: "a"},
		{ID: "a-2", Question: "Q?", Answer: "A.\nB.", QType: "causes", Focus: "F", Source: "a", Context: "C"},
	}
	var b bytes.Buffer
	if err := EncodeJSONL(&b, rows, "S"); err != nil {
		t.Fatal(err)
	}
	want := `{"id":"a-1","question":"Is <b> & c ok?","answer":"Yes.","qtype":"other","source":"a","messages":[{"role":"system","content":"S"},{"role":"user","content":"Is <b> & c ok?"},{"role":"assistant","content":"Yes."}]}
{"id":"a-2","question":"Q?","answer":"A.\nB.","qtype":"causes","focus":"F","source":"a","context":"C","messages":[{"role":"system","content":"S"},{"role":"user","content":"Context:\nC\n\nQuestion: Q?"},{"role":"assistant","content":"A.\nB."}]}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// And it reads back into the same rows.
	dec := json.NewDecoder(&b)
	for _, r := range rows {
		var got Row
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got != r {
			t.Errorf("round trip: %+v, want %+v", got, r)
		}
	}
}
