package retrieve

import (
	"fmt"
	"strings"
)

// DefaultK is how many passages an answer cites and a RAG prompt holds.
const DefaultK = 3

// PassageWords bounds each passage's answer in a RAG prompt: three passages
// of 80 words (about 110 tokens each) keep prompt plus a 256-token answer
// inside the default model's 1,024 positions.
const PassageWords = 80

// Augment is the one RAG prompt template: the user turn that replaces the
// question when retrieval is on. The passages come first, numbered, each
// with its focus and organisation, its answer cut to PassageWords words;
// then the question, unchanged:
//
//	Answer the question using these passages from NIH and CDC websites.
//
//	[1] Glaucoma (MedlinePlus (NLM)): Glaucoma is a group of diseases that can damage the eye's optic nerve …
//	[2] …
//
//	Question: What is glaucoma?
//
// With no passages it returns the question alone.
func Augment(question string, passages []Passage) string {
	if len(passages) == 0 {
		return question
	}
	var b strings.Builder
	b.WriteString("Answer the question using these passages from NIH and CDC websites.\n\n")
	for i, p := range passages {
		title := p.Focus
		if title == "" {
			title = p.Question
		}
		fmt.Fprintf(&b, "[%d] %s (%s): %s\n", i+1, title, Organisation(p.Source), Truncate(p.Answer, PassageWords))
	}
	b.WriteString("\nQuestion: ")
	b.WriteString(question)
	return b.String()
}

// Truncate keeps the first n words of s on one line, with "…" when it cut.
func Truncate(s string, n int) string {
	w := strings.Fields(s)
	if len(w) <= n {
		return strings.Join(w, " ")
	}
	return strings.Join(w[:n], " ") + " …"
}
