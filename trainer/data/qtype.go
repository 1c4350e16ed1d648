package data

import (
	"regexp"
	"strings"
)

// QTypeOther is the question type of a question no pattern recognises.
const QTypeOther = "other"

// A template is one of MedQuAD's question templates: MedQuAD builds almost
// every question by putting a disease or drug name (its "focus") between a
// prefix and a suffix, so matching them recovers both qtype and focus.
// Matching is on the lower-cased question without its trailing question
// marks, so "What is (are) X ?", "what is (are) x?" and GARD's
// "Who is at risk for X? ?" all match.
type template struct {
	prefix, suffix string // the text before and after the focus
	qtype          string
}

// templates were derived from files/medquad_qa.csv.gz by replacing each
// row's focus with a placeholder and grouping the questions by qtype. They
// match 16,371 of its 16,407 rows; the other 36 are CDC's free-form questions,
// which the cues below cover (TestInferQTypeMedQuAD checks every row).
var templates = []template{
	{"what is (are)", "", "information"},
	{"do you have information about", "", "information"},
	{"what are the symptoms of", "", "symptoms"},
	{"how to diagnose", "", "exams and tests"},
	{"what is the outlook for", "", "outlook"},
	{"who is at risk for", "", "susceptibility"},
	{"what are the stages of", "", "stages"},
	{"what are the treatments for", "", "treatment"},
	{"what research (or clinical trials) is being done for", "", "research"},
	{"what research is being done for", "", "research"},
	{"what are the genetic changes related to", "", "genetic changes"},
	{"how to prevent", "", "prevention"},
	{"what causes", "", "causes"},
	{"is", "inherited", "inheritance"},
	{"how many people are affected by", "", "frequency"},
	{"what to do for", "", "considerations"},
	{"what are the complications of", "", "complications"},
	{"where to find support for people with", "", "support groups"},
}

// match returns where the focus lies when q (lower-cased, without its
// trailing question marks) fits the template.
func (t template) match(q string) (start, end int, ok bool) {
	if !strings.HasPrefix(q, t.prefix) || !strings.HasSuffix(q, t.suffix) {
		return 0, 0, false
	}
	start, end = len(t.prefix), len(q)-len(t.suffix)
	if start > end { // prefix and suffix overlap
		return 0, 0, false
	}
	// The focus must be whole words: "is" must not match "isolated".
	if start < len(q) && q[start] != ' ' || t.suffix != "" && end > start && q[end-1] != ' ' {
		return 0, 0, false
	}
	return start, end, true
}

// A cue is a keyword rule for free-form questions (MedQuAD's CDC pages, the
// MLE screening CSV, real users). Order matters: the first cue that matches
// wins, so the more specific intents come before the catch-all "what is".
type cue struct {
	re    *regexp.Regexp
	qtype string
}

var cues = []cue{
	{regexp.MustCompile(`\bsymptoms?\b|\bsigns? of\b`), "symptoms"},
	{regexp.MustCompile(`\bprevent(s|ed|ing|ion|able)?\b`), "prevention"},
	// "diagnosed and treated" is a treatment question in MedQuAD, so treat
	// comes before diagnose.
	{regexp.MustCompile(`\btreat(s|ed|ing|ments?)?\b|\btherap(y|ies)\b|\bcured?\b`), "treatment"},
	{regexp.MustCompile(`\bdiagnos(e|ed|is|es|ing)\b|\btests? for\b`), "exams and tests"},
	{regexp.MustCompile(`\bcomplications?\b`), "complications"},
	{regexp.MustCompile(`\bhow (common|many|often|frequent)\b|\bprevalen(ce|t)\b`), "frequency"},
	{regexp.MustCompile(`\binherit(ed|ance)?\b|\bhereditary\b|\bpassed down\b`), "inheritance"},
	{regexp.MustCompile(`\bgenetic changes?\b|\bmutations?\b|\bgenes?\b`), "genetic changes"},
	{regexp.MustCompile(`\bat risk\b|\brisk (of|for)\b|\bsusceptib`), "susceptibility"},
	{regexp.MustCompile(`\boutlook\b|\bprognosis\b|\blife expectancy\b`), "outlook"},
	{regexp.MustCompile(`\bstages?\b`), "stages"},
	{regexp.MustCompile(`\bresearch\b|\bclinical trials?\b`), "research"},
	{regexp.MustCompile(`\bsupport groups?\b`), "support groups"},
	{regexp.MustCompile(`^what causes\b|\bcauses? of\b|\bcaused by\b|^why do(es)? .* (get|develop)\b`), "causes"},
	{regexp.MustCompile(`^what (should|can) (i|you|we) do\b|^what to do\b`), "considerations"},
	{regexp.MustCompile(`^(what|who) (is|are)\b|^what types? of\b|^tell me about\b|^define\b`), "information"},
}

// InferQType returns the MedQuAD question type of a question, and its focus
// when the question follows one of MedQuAD's templates. Matching is
// case-insensitive and ignores surrounding whitespace. A template that
// matches with an empty focus (MedQuAD has a few, like "What is (are)  ?")
// still yields its qtype, with templated true and an empty focus; callers
// use that to drop questions that lost their subject.
func InferQType(question string) (qtype, focus string, templated bool) {
	orig := strings.TrimRight(strings.Join(strings.Fields(question), " "), "? ")
	q := strings.ToLower(orig)
	for _, t := range templates {
		if start, end, ok := t.match(q); ok {
			// Cut the focus from the original to keep its case, unless
			// lower-casing changed byte lengths (some non-ASCII letters do).
			src := orig
			if len(src) != len(q) {
				src = q
			}
			return t.qtype, strings.TrimSpace(src[start:end]), true
		}
	}
	for _, c := range cues {
		if c.re.MatchString(q) {
			return c.qtype, "", false
		}
	}
	return QTypeOther, "", false
}
