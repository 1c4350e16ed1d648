package eval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"medqa/wasm/chat"
)

func row(id, q, a, focus string) Row {
	return Row{ID: id, Question: q, QType: "information", Focus: focus, Source: "GHR",
		Messages: []chat.Message{{Role: "system", Content: "S"}, {Role: "user", Content: q}, {Role: "assistant", Content: a}}}
}

func writeRows(t *testing.T, dir, split string, rows []Row) {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		js, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(js)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, split+".jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGeneSymbols(t *testing.T) {
	got := GeneSymbols("Mutations in COL7A1, BRCA2 and the BRCA2 gene (not DNA, 1990, Col7a1, X1 or TP53-related) cause EB.")
	want := []string{"COL7A1", "BRCA2", "TP53"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GeneSymbols = %q, want %q", got, want)
	}
}

// The RAG index holds the training split only, minus any training answer
// that equals an evaluated reference; the prompt holds the passages and the
// question; recall@3 counts rows with a same-focus passage.
func TestRAGIsLeakFree(t *testing.T) {
	dir := t.TempDir()
	test := []Row{
		row("t1", "What is glaucoma?", "Glaucoma damages the optic nerve.", "Glaucoma"),
		row("t2", "What is gout?", "Gout is arthritis with urate crystals.", "Gout"),
	}
	writeRows(t, dir, "train", []Row{
		row("a", "What are the treatments for glaucoma?", "Eye drops lower the pressure in glaucoma.", "Glaucoma"),
		// Another question with t1's answer: MedQuAD repeats answers.
		row("b", "What is open-angle glaucoma?", "Glaucoma damages the optic nerve.", "Glaucoma"),
		row("c", "What is anemia?", "Too few red blood cells.", "Anemia"),
	})
	g, err := NewRAG(dir, test)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.KB) != 2 || g.Excluded != 1 {
		t.Fatalf("index of %d passages, %d excluded; want 2 and 1", len(g.KB), g.Excluded)
	}
	aug, recall := g.Augment(test)
	if recall != 50 {
		t.Errorf("recall@3 = %v, want 50 (glaucoma found, gout has no passage)", recall)
	}
	p := aug[0].Messages[1].Content
	if !strings.Contains(p, "[1] Glaucoma (Genetics Home Reference (NLM)): Eye drops lower the pressure in glaucoma.") ||
		!strings.HasSuffix(p, "Question: What is glaucoma?") {
		t.Errorf("prompt:\n%s", p)
	}
	for _, r := range aug {
		if strings.Contains(r.Messages[1].Content, r.Reference()) {
			t.Errorf("row %s: its own answer is in its prompt", r.ID)
		}
	}
	if test[0].Messages[1].Content != "What is glaucoma?" {
		t.Error("Augment changed its input rows")
	}
}

// Hallucination counted by hand: answer 1 names COL7A1 (supported by the
// focus), BRCA2 (in no answer of the focus) and TP53 (in the question);
// answer 2 names ABC1 (supported only under another focus).
func TestHallucinationRate(t *testing.T) {
	rows := []Row{
		row("1", "Is TP53 linked to glaucoma?", "COL7A1 and MYOC.", "Glaucoma"),
		row("2", "What is gout?", "Urate.", "Gout"),
	}
	support := NewGeneSupport(rows, []Row{row("3", "q", "ABC1 matters.", "Anemia")})
	rep := &Report{Models: []ModelReport{{Label: "m"}}, Examples: []Example{
		{Outputs: []Output{{Prediction: Prediction{Text: "COL7A1, BRCA2 and TP53; COL7A1 again."}}}},
		{Outputs: []Output{{Prediction: Prediction{Text: "ABC1."}}}},
	}}
	rep.Hallucination(rows, support)
	o := rep.Models[0].Overall
	if *o.GeneSymbols != 4 || *o.HallucinationRate != 50 {
		t.Fatalf("%d symbols, rate %v; want 4 and 50", *o.GeneSymbols, *o.HallucinationRate)
	}
	rec := 75.0
	rep.Models[0].Overall.RetrievalRecallAt3 = &rec
	var b strings.Builder
	for _, r := range overallRows(rep) {
		b.WriteString(r.Name + "=" + strings.Join(r.Values, ",") + "\n")
	}
	for _, want := range []string{"Hallucination rate (% of gene symbols unsupported)=50.00", "Retrieval recall@3 (% same focus)=75.00", "Retrieval-augmented (RAG)=no"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report table lacks %q:\n%s", want, b.String())
		}
	}
}
