package data

import (
	"strings"
	"testing"
)

// AddRAG retrieves from the training split only and never gives a row its own
// answer, not even through another question with the same answer.
func TestAddRAGNeverShowsTheOwnAnswer(t *testing.T) {
	r := func(id, q, a, focus string) Row {
		return Row{ID: id, Question: q, Answer: a, QType: "information", Focus: focus, Source: "GHR"}
	}
	ds := &Dataset{Splits: [3][]Row{
		{
			r("tr-1", "What is glaucoma?", "Glaucoma damages the optic nerve.", "Glaucoma"),
			r("tr-2", "What is open-angle glaucoma?", "Glaucoma damages the optic nerve.", "Glaucoma"),
			r("tr-3", "What are the treatments for glaucoma?", "Eye drops lower eye pressure in glaucoma.", "Glaucoma"),
			r("tr-4", "What is gout?", "Gout is arthritis.", "Gout"),
		},
		{r("va-1", "How to diagnose glaucoma?", "An eye exam finds glaucoma.", "Glaucoma")},
		{r("te-1", "Is glaucoma inherited?", "Eye drops lower eye pressure in glaucoma.", "Glaucoma")},
	}}
	ds.AddRAG(3)
	// Only passages sharing a term with the question are found.
	want := map[string]string{
		"tr-1": "tr-3", // tr-2 has tr-1's answer
		"tr-2": "tr-3",
		"tr-3": "tr-1 tr-2",
		"tr-4": "", // nothing else about gout: the plain question
		"va-1": "tr-1 tr-2 tr-3",
		"te-1": "tr-1 tr-2", // tr-3 has te-1's answer
	}
	for s := range ds.Splits {
		for _, row := range ds.Splits[s] {
			if sortedIDs(row.Retrieved) != sortedIDs(want[row.ID]) {
				t.Errorf("%s retrieved %q, want %q", row.ID, row.Retrieved, want[row.ID])
			}
			user := row.Messages(DefaultSystemPrompt)[1].Content
			if strings.Contains(user, row.Answer) {
				t.Errorf("%s: its answer is in its prompt:\n%s", row.ID, user)
			}
			if row.Retrieved == "" {
				if user != row.Question {
					t.Errorf("%s: nothing retrieved, yet the user turn is %q", row.ID, user)
				}
			} else if !strings.HasPrefix(user, "Answer the question using these passages") || !strings.HasSuffix(user, "Question: "+row.Question) {
				t.Errorf("%s: user turn not the RAG template:\n%s", row.ID, user)
			}
			for _, id := range strings.Fields(row.Retrieved) {
				if !strings.HasPrefix(id, "tr-") || id == row.ID {
					t.Errorf("%s retrieved %s", row.ID, id)
				}
			}
		}
	}
}

func sortedIDs(s string) string {
	f := strings.Fields(s)
	for i := range f {
		for j := i + 1; j < len(f); j++ {
			if f[j] < f[i] {
				f[i], f[j] = f[j], f[i]
			}
		}
	}
	return strings.Join(f, " ")
}
