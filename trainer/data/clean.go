package data

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Reasons a row is dropped, in the order they are checked: a row counts
// once, under the first reason that applies.
const (
	DropEmptyQuestion = "empty_question"
	// DropNoSubject: the question is a MedQuAD template whose subject is
	// empty, like "What is (are)  ?"; it asks nothing.
	DropNoSubject   = "question_without_subject"
	DropEmptyAnswer = "empty_answer"
	// DropDuplicate: the same cleaned (question, answer) pair came earlier,
	// in this input or an earlier one.
	DropDuplicate = "duplicate_pair"
)

// DropReasons lists every reason, so that stats show zero counts too.
var DropReasons = []string{DropEmptyQuestion, DropNoSubject, DropEmptyAnswer, DropDuplicate}

// Cleaner normalises rows and drops the unusable ones, counting each drop.
// It keeps state across inputs so that duplicates are found across files.
type Cleaner struct {
	seen map[[2]string]bool
}

// NewCleaner returns a Cleaner that has seen nothing yet.
func NewCleaner() *Cleaner { return &Cleaner{seen: map[[2]string]bool{}} }

// Clean normalises one row's text. It returns the cleaned row, or the
// reason the row is dropped ("" when it is kept).
func (c *Cleaner) Clean(r Row) (Row, string) {
	r.Question = CleanQuestion(r.Question)
	r.Answer = CleanText(r.Answer)
	r.Focus = CleanLine(r.Focus)
	r.Context = CleanText(r.Context)
	if r.Question == "" {
		return r, DropEmptyQuestion
	}
	if _, focus, templated := InferQType(r.Question); templated && focus == "" {
		return r, DropNoSubject
	}
	if r.Answer == "" {
		return r, DropEmptyAnswer
	}
	key := [2]string{r.Question, r.Answer}
	if c.seen[key] {
		return r, DropDuplicate
	}
	c.seen[key] = true
	return r, ""
}

// CleanQuestion is CleanLine plus one typographic fix: no space before a
// question mark, and a run of question marks becomes one. MedQuAD writes
// "What is (are) X ?" and "Who is at risk for X? ?"; users type "X?", and
// " ?" is a different token from "?".
func CleanQuestion(s string) string {
	return questionMarks.ReplaceAllString(CleanLine(s), "?")
}

var questionMarks = regexp.MustCompile(`\s*\?(?:\s*\?)*`)

// splitInlineBullets gives back their own line to list items that MedQuAD's
// XML flattened onto the line of the text before: a non-space, two or more
// spaces or tabs, then "- ". That happens ~30,000 times (CancerGov, GHR,
// NIDDK, ...). A dash after a single space is prose and stays.
func splitInlineBullets(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; ; {
		k := strings.Index(s[i:], "- ")
		if k < 0 {
			break
		}
		dash := i + k
		i = dash + 2
		j := dash
		for j > last && (s[j-1] == ' ' || s[j-1] == '\t') {
			j--
		}
		if dash-j < 2 || j == last || s[j-1] == '\n' || s[j-1] == '\r' {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s) + 64)
		}
		b.WriteString(s[last:j])
		b.WriteString("\n- ")
		last = i
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// CleanLine normalises single-line text: NFC, control and invisible
// characters removed, every run of whitespace (newlines included) turned
// into one space, no leading or trailing space.
func CleanLine(s string) string {
	return strings.Join(strings.Fields(stripInvisible(norm.NFC.String(s))), " ")
}

// CleanText normalises multi-line text (answers, contexts). Line breaks
// carry structure (paragraphs, lists), so they stay; the indentation and
// runs of spaces that MedQuAD inherits from its XML go. In detail: NFC;
// CRLF and CR become LF; control and invisible characters are removed;
// within a line every run of whitespace becomes one space and the line is
// trimmed; a list item flattened into the line before (see
// splitInlineBullets)
// starts its own line; runs of blank lines become one blank line; no blank lines at
// either end.
func CleanText(s string) string {
	s = norm.NFC.String(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = stripInvisible(s)
	s = splitInlineBullets(s)
	var b strings.Builder
	b.Grow(len(s))
	blank := false
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			blank = b.Len() > 0
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
			if blank {
				b.WriteByte('\n')
			}
		}
		blank = false
		b.WriteString(line)
	}
	return b.String()
}

// stripInvisible removes control characters other than whitespace, and the
// zero-width characters that make equal-looking text compare unequal.
func stripInvisible(s string) string {
	drop := func(r rune) bool {
		switch r {
		case '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD':
			return true
		}
		return unicode.IsControl(r) && !unicode.IsSpace(r)
	}
	if strings.IndexFunc(s, drop) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if drop(r) {
			return -1
		}
		return r
	}, s)
}

// QuestionKey is the normalised question that decides leakage: rows with
// equal keys always land in the same split. It is the NFKC form, lower-cased,
// reduced to its letters and digits with one space between runs, so that
// "Alpha-thalassemia" and "alpha thalassemia", or "What is (are) X ?" and
// "what is (are) X?", are one question. On MedQuAD this merges the 14,979
// distinct question strings into 14,298 keys.
func QuestionKey(q string) string {
	q = strings.ToLower(norm.NFKC.String(q))
	words := strings.FieldsFunc(q, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
	return strings.Join(words, " ")
}
