package data

import (
	"strings"
	"testing"
)

func TestCleanText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"  \n\t \n", ""},
		{"one   two\tthree", "one two three"},
		// indentation and trailing space go, paragraphs stay
		{"Key Points\n                    - First.\n\n\n   Second para.  \n", "Key Points\n- First.\n\nSecond para."},
		{"a\r\nb\rc", "a\nb\nc"},
		// list items flattened onto one line get their own lines back
		{"include:  - Smoking  - Obesity", "include:\n- Smoking\n- Obesity"},
		{"blood cell).    - Leukemia may", "blood cell).\n- Leukemia may"},
		// a single-spaced dash is prose, not a list
		{"well - known", "well - known"},
		// NFC: e + combining acute becomes é
		{"cafe\u0301", "caf\u00e9"},
		// invisible and control characters go
		{"zero\u200bwidth\u00ad soft\x00null\x07bell", "zerowidth softnullbell"},
		{"\u00a0non-breaking\u00a0space\u2003em", "non-breaking space em"},
	}
	for _, c := range cases {
		if got := CleanText(c.in); got != c.want {
			t.Errorf("CleanText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCleanQuestion(t *testing.T) {
	cases := []struct{ in, want string }{
		{"What is (are) Gout ?", "What is (are) Gout?"},
		{"Who is at risk for Gout? ?", "Who is at risk for Gout?"},
		{"  What\n is   it ??  ", "What is it?"},
		{"Is it X? Or Y ?", "Is it X? Or Y?"},
		{"Do you have information about Aspirin", "Do you have information about Aspirin"},
	}
	for _, c := range cases {
		if got := CleanQuestion(c.in); got != c.want {
			t.Errorf("CleanQuestion(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestQuestionKey(t *testing.T) {
	same := [][]string{
		{"What is (are) Alpha-thalassemia ?", "what is (are) alpha thalassemia?", "WHAT IS (ARE) ALPHA—THALASSEMIA"},
		{"Is Buschke-Ollendorff syndrome inherited ?", "Is Buschke Ollendorff syndrome inherited?"},
		// NFKC: the ligature ﬁ is fi, full-width digits are digits
		{"What is ﬁbrosis type １?", "what is fibrosis type 1"},
	}
	for _, qs := range same {
		for _, q := range qs[1:] {
			if QuestionKey(q) != QuestionKey(qs[0]) {
				t.Errorf("QuestionKey(%q) = %q, but QuestionKey(%q) = %q", q, QuestionKey(q), qs[0], QuestionKey(qs[0]))
			}
		}
	}
	if got := QuestionKey("What is (are) Alpha-thalassemia ?"); got != "what is are alpha thalassemia" {
		t.Errorf("key %q", got)
	}
	if QuestionKey("What is type 1 diabetes?") == QuestionKey("What is type 2 diabetes?") {
		t.Error("digits must distinguish questions")
	}
}

// Each drop reason is counted, per input and in total, and duplicates are
// found after cleaning and across files.
func TestBuildDropCounts(t *testing.T) {
	a := writeTemp(t, "a.csv", "question,answer\n"+
		"What is (are) Gout ?,Gout is arthritis.\n"+ // kept
		"   ,An answer without a question.\n"+ // empty_question
		"What is (are)  ?,An answer about nothing.\n"+ // question_without_subject
		"What causes gout ?,\"  \n\t \"\n"+ // empty_answer
		"What is (are) Gout?,\"Gout  is\tarthritis. \"\n"+ // duplicate after cleaning
		"What causes gout ?,Uric acid.\n"+ // kept
		"What is (are) Gout ?,Gout is a form of arthritis.\n") // kept: same question, new answer
	b := writeTemp(t, "b.csv", "question,answer,qtype,focus,source\n"+
		"What is (are) Gout ?,Gout is arthritis.,information,Gout,X\n"+ // duplicate of a.csv's row
		"What causes gout ?,Uric acid crystals.,causes,gout,X\n") // kept
	ds, err := Build(Config{Inputs: []string{a, b}, Split: SplitConfig{Seed: 1, Validation: 0.09, Test: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	st := ds.Stats
	wantA := map[string]int{DropEmptyQuestion: 1, DropNoSubject: 1, DropEmptyAnswer: 1, DropDuplicate: 1}
	wantB := map[string]int{DropEmptyQuestion: 0, DropNoSubject: 0, DropEmptyAnswer: 0, DropDuplicate: 1}
	wantAll := map[string]int{DropEmptyQuestion: 1, DropNoSubject: 1, DropEmptyAnswer: 1, DropDuplicate: 2}
	checkCounts(t, "a.csv", st.Inputs[0].Dropped, wantA)
	checkCounts(t, "b.csv", st.Inputs[1].Dropped, wantB)
	checkCounts(t, "total", st.Dropped, wantAll)
	if st.Inputs[0].Rows != 7 || st.Inputs[0].Kept != 3 || st.Inputs[1].Rows != 2 || st.Inputs[1].Kept != 1 {
		t.Errorf("inputs %+v", st.Inputs)
	}
	if st.Rows != 9 || st.Kept != 4 || st.Questions != 2 {
		t.Errorf("rows %d kept %d questions %d, want 9, 4, 2", st.Rows, st.Kept, st.Questions)
	}
	n := 0
	for _, s := range ds.Splits {
		n += len(s)
	}
	if n != st.Kept {
		t.Errorf("%d rows in splits, %d kept", n, st.Kept)
	}
}

// Nothing disappears silently on the real data: 48 exact duplicate pairs
// (16,407 rows, 16,359 distinct pairs per files/README.md) and the
// 4 CDC questions whose template lost its subject.
func TestBuildMedQuADCounts(t *testing.T) {
	ds := medquadDataset(t)
	st := ds.Stats
	checkCounts(t, "medquad", st.Dropped, map[string]int{DropEmptyQuestion: 0, DropNoSubject: 4, DropEmptyAnswer: 0, DropDuplicate: 48})
	if st.Rows != 16407 || st.Kept != 16355 {
		t.Errorf("rows %d kept %d, want 16407 and 16355", st.Rows, st.Kept)
	}
	// 14,298 keys over all rows, less the 3 keys of the 4 subjectless rows.
	if st.Questions != 14295 {
		t.Errorf("%d distinct questions, want 14295", st.Questions)
	}
	for _, s := range ds.Splits {
		for _, r := range s {
			if r.Question != CleanQuestion(r.Question) || r.Answer != CleanText(r.Answer) || strings.Contains(r.Question, " ?") {
				t.Fatalf("%s is not clean", r.ID)
			}
		}
	}
}

func checkCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: drop reasons %v, want %v", what, got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %s = %d, want %d", what, k, got[k], n)
		}
	}
}
