package data

import (
	"strings"
	"testing"
)

// Every MedQuAD question gets back the qtype MedQuAD labels it with, and
// every templated one its focus: the reference is the dataset's own labels.
func TestInferQTypeMedQuAD(t *testing.T) {
	rows := mustLoad(t, medquadPath(t), LoadOptions{})
	templated := 0
	for _, r := range rows {
		qtype, focus, ok := InferQType(r.Question)
		if qtype != r.QType {
			t.Errorf("%s %q: qtype %q, MedQuAD says %q", r.ID, r.Question, qtype, r.QType)
		}
		if ok {
			templated++
			// CDC writes "what are the symptoms of botulism?" with focus
			// "Botulism": case may differ, words may not.
			if !strings.EqualFold(focus, r.Focus) {
				t.Errorf("%s %q: focus %q, MedQuAD says %q", r.ID, r.Question, focus, r.Focus)
			}
		}
	}
	if templated != 16371 {
		t.Errorf("%d templated questions, want 16371", templated)
	}
}

func TestInferQType(t *testing.T) {
	cases := []struct{ q, qtype, focus string }{
		// templates, in the spellings cleaning produces or users type
		{"What is (are) Gout ?", "information", "Gout"},
		{"what is (are) gout?", "information", "gout"},
		{"Who is at risk for Gout? ?", "susceptibility", "Gout"},
		{"Who is at risk for Gout?", "susceptibility", "Gout"},
		{"Is Fragile X syndrome inherited ?", "inheritance", "Fragile X syndrome"},
		{"Do you have information about Aspirin", "information", "Aspirin"},
		{"What research (or clinical trials) is being done for Lupus ?", "research", "Lupus"},
		// templates whose subject is missing
		{"What is (are)  ?", "information", ""},
		{"What is (are)?", "information", ""},
		{"Is inherited?", "inheritance", ""},
		// "is" must be a whole word
		{"Isolated hearing loss inherited?", "inheritance", ""},
		// free-form questions
		{"How is gout treated?", "treatment", ""},
		{"How is rabies diagnosed?", "exams and tests", ""},
		{"How is HPS diagnosed and treated?", "treatment", ""},
		{"What are the early signs of Parkinson's disease?", "symptoms", ""},
		{"How common is celiac disease?", "frequency", ""},
		{"Can diabetes be prevented?", "prevention", ""},
		{"What is the prognosis of ALS?", "outlook", ""},
		{"Which gene mutations cause cystic fibrosis?", "genetic changes", ""},
		{"What is gout?", "information", ""},
		{"Tell me about asthma", "information", ""},
		{"Should I take aspirin daily?", "other", ""},
		{"", "other", ""},
	}
	for _, c := range cases {
		qtype, focus, _ := InferQType(c.q)
		if qtype != c.qtype || focus != c.focus {
			t.Errorf("%q: got (%q, %q), want (%q, %q)", c.q, qtype, focus, c.qtype, c.focus)
		}
	}
}
