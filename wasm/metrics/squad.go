package metrics

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Squad holds the SQuAD v1.1 scores of one prediction (max over references):
// F1 and ExactMatch as f1_score/exact_match_score give them (fractions), and
// the same in percent as evaluate's squad reports them.
type Squad struct {
	F1                 float64 `json:"f1"`
	ExactMatch         float64 `json:"exact_match"`
	EvaluateF1         float64 `json:"evaluate_f1"`
	EvaluateExactMatch float64 `json:"evaluate_exact_match"`
}

// SquadNormalize is the SQuAD v1.1 normalize_answer: Python lower(), delete
// ASCII string.punctuation (curly quotes, dashes and "…" stay), replace the
// words a/an/the (\b with Unicode word characters) by a space, and collapse
// str.split() whitespace.
func SquadNormalize(s string) string {
	return strings.Join(squadTokens(s), " ")
}

// squadTokens is SquadNormalize(s).split(): the normalised text is its
// tokens joined by single spaces, so comparing token lists is comparing texts.
func squadTokens(s string) []string {
	s = pyLower(s)
	first := 0
	for first < len(s) && !isASCIIPunct(s[first]) {
		first++
	}
	if first < len(s) {
		b := make([]byte, first, len(s))
		copy(b, s)
		for i := first; i < len(s); i++ {
			if !isASCIIPunct(s[i]) {
				b = append(b, s[i])
			}
		}
		s = string(b)
	}
	return pySplit(removeArticles(s))
}

// isASCIIPunct is membership in Python's string.punctuation.
func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

// removeArticles is re.sub(r"\b(a|an|the)\b", " ", s).
func removeArticles(s string) string {
	var b strings.Builder
	last := 0
	prevWord := false // is the character before i a word character
	for i := 0; i < len(s); {
		if !prevWord {
			if n := articleAt(s[i:]); n > 0 {
				b.WriteString(s[last:i])
				b.WriteByte(' ')
				i += n
				last = i
				prevWord = true // the article's last letter
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			prevWord = false
		} else {
			prevWord = isPyWord(r)
		}
		i += n
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// articleAt returns the length of the article starting s if it is followed
// by a non-word character or the end, else 0. Like the regex's ordered
// alternation it tries "a", then "an", then "the".
func articleAt(s string) int {
	for _, art := range [...]string{"a", "an", "the"} {
		if strings.HasPrefix(s, art) && !startsWithWord(s[len(art):]) {
			return len(art)
		}
	}
	return 0
}

func startsWithWord(s string) bool {
	if s == "" {
		return false
	}
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n == 1 {
		return false
	}
	return isPyWord(r)
}

// squadF1 is f1_score on normalised token lists.
func squadF1(pred, ref []string) float64 {
	counts := make(map[string]int, len(ref))
	for _, t := range ref {
		counts[t]++
	}
	same := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			same++
		}
	}
	if same == 0 {
		return 0
	}
	precision := 1.0 * float64(same) / float64(len(pred))
	recall := 1.0 * float64(same) / float64(len(ref))
	return 2 * precision * recall / (precision + recall)
}

// SquadScore is the SQuAD v1.1 F1 and exact match of prediction, each the
// maximum over references. When both sides normalise to nothing, F1 is 0
// but exact match is 1, as in the reference.
func SquadScore(prediction string, references []string) Squad {
	pt := squadTokens(prediction)
	var s Squad
	for _, r := range references {
		rt := squadTokens(r)
		if slices.Equal(pt, rt) {
			s.ExactMatch = 1
		}
		s.F1 = max(s.F1, squadF1(pt, rt))
	}
	s.EvaluateF1 = 100 * s.F1
	s.EvaluateExactMatch = 100 * s.ExactMatch
	return s
}
