package metrics

import "unicode/utf8"

// Stem is NLTK 3.8's PorterStemmer().stem(word) in its default
// NLTK_EXTENSIONS mode, which rouge_score uses with use_stemmer=True: the
// published algorithm plus NLTK's irregular-forms pool, the "ies"/"ied"
// rules for four-letter words, the (*c and not c) Y -> I rule, ALLI first in
// step 2, FULLI and LOGI, and the two-letter *o condition.
//
// Like NLTK it lowercases with Python's str.lower(), looks the word up in the
// pool before lowercasing, and leaves words of at most two characters alone.
func Stem(word string) string {
	lower := pyLower(word)
	if _, ok := porterPool[word]; ok {
		return porterPool[lower]
	}
	if utf8.RuneCountInString(word) <= 2 {
		return lower
	}
	if isASCII(lower) {
		return string(porterSteps([]byte(lower)))
	}
	return string(porterSteps([]rune(lower)))
}

// stemASCII stems a lowercase ASCII token of more than two letters (what the
// rouge tokenizer produces), skipping Stem's checks and conversions.
func stemASCII(tok string) string {
	if s, ok := porterPool[tok]; ok {
		return s
	}
	var buf [32]byte
	return string(porterSteps(append(buf[:0], tok...)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// porterPool maps NLTK's irregular forms to their stems.
var porterPool = map[string]string{
	"sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
	"news": "news", "innings": "inning", "inning": "inning", "outings": "outing",
	"outing": "outing", "cannings": "canning", "canning": "canning", "howe": "howe",
	"proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
}

// char is a letter of the word being stemmed: bytes for ASCII words (every
// rouge token), runes otherwise, so lengths count code points as Python does.
type char interface{ byte | rune }

// The rule conditions of the reference's rule lists.
const (
	condNone    = iota
	condM0      // measure(stem) > 0
	condM1      // measure(stem) > 1
	condIon     // measure(stem) > 1 and stem ends in s or t
	condLogi    // measure(word[:-3]) > 0: the l stays with the stem
	condE       // measure(stem) == 1 and *o
	condDouble  // *d and not (*L or *S or *Z): drop one letter
	condY       // (*c and not c) Y -> I
	condLLWord  // measure(word[:-1]) > 1
	starDouble  = "*d"
	emptySuffix = ""
)

type porterRule struct {
	suffix, repl string
	cond         int
}

var (
	step1aRules = []porterRule{{"sses", "ss", condNone}, {"ies", "i", condNone}, {"ss", "ss", condNone}, {"s", "", condNone}}
	step1bRules = []porterRule{{"at", "ate", condNone}, {"bl", "ble", condNone}, {"iz", "ize", condNone},
		{starDouble, "", condDouble}, {emptySuffix, "e", condE}}
	step1cRules = []porterRule{{"y", "i", condY}}
	step2Rules  = []porterRule{
		{"ational", "ate", condM0}, {"tional", "tion", condM0}, {"enci", "ence", condM0},
		{"anci", "ance", condM0}, {"izer", "ize", condM0}, {"bli", "ble", condM0},
		{"alli", "al", condM0}, {"entli", "ent", condM0}, {"eli", "e", condM0},
		{"ousli", "ous", condM0}, {"ization", "ize", condM0}, {"ation", "ate", condM0},
		{"ator", "ate", condM0}, {"alism", "al", condM0}, {"iveness", "ive", condM0},
		{"fulness", "ful", condM0}, {"ousness", "ous", condM0}, {"aliti", "al", condM0},
		{"iviti", "ive", condM0}, {"biliti", "ble", condM0}, {"fulli", "ful", condM0},
		{"logi", "log", condLogi},
	}
	step3Rules = []porterRule{
		{"icate", "ic", condM0}, {"ative", "", condM0}, {"alize", "al", condM0},
		{"iciti", "ic", condM0}, {"ical", "ic", condM0}, {"ful", "", condM0}, {"ness", "", condM0},
	}
	step4Rules = []porterRule{
		{"al", "", condM1}, {"ance", "", condM1}, {"ence", "", condM1}, {"er", "", condM1},
		{"ic", "", condM1}, {"able", "", condM1}, {"ible", "", condM1}, {"ant", "", condM1},
		{"ement", "", condM1}, {"ment", "", condM1}, {"ent", "", condM1}, {"ion", "", condIon},
		{"ou", "", condM1}, {"ism", "", condM1}, {"ate", "", condM1}, {"iti", "", condM1},
		{"ous", "", condM1}, {"ive", "", condM1}, {"ize", "", condM1},
	}
	step5bRules = []porterRule{{"ll", "l", condLLWord}}
)

// porterSteps runs steps 1a to 5b on w, which it may overwrite.
func porterSteps[T char](w []T) []T {
	// step 1a, with NLTK's "ies" -> "ie" for four-letter words
	if len(w) == 4 && hasSuffix(w, "ies") {
		w = w[:3]
		w[2] = 'e'
	} else {
		w = applyRules(w, step1aRules)
	}
	w = step1b(w)
	w = applyRules(w, step1cRules)
	w = step2(w)
	w = applyRules(w, step3Rules)
	w = applyRules(w, step4Rules)
	// step 5a
	if hasSuffix(w, "e") {
		stem := w[:len(w)-1]
		if m := measure(stem); m > 1 || (m == 1 && !endsCVC(stem)) {
			w = stem
		}
	}
	return applyRules(w, step5bRules)
}

func step1b[T char](w []T) []T {
	if hasSuffix(w, "ied") {
		if len(w) == 4 {
			return append(w[:1], 'i', 'e')
		}
		return append(w[:len(w)-3], 'i')
	}
	if hasSuffix(w, "eed") {
		if stem := w[:len(w)-3]; measure(stem) > 0 {
			return append(stem, 'e', 'e')
		}
		return w
	}
	var stem []T
	switch {
	case hasSuffix(w, "ed") && containsVowel(w[:len(w)-2]):
		stem = w[:len(w)-2]
	case hasSuffix(w, "ing") && containsVowel(w[:len(w)-3]):
		stem = w[:len(w)-3]
	default:
		return w
	}
	return applyRules(stem, step1bRules)
}

func step2[T char](w []T) []T {
	// NLTK applies ALLI -> AL first and runs step 2 again on the result.
	if hasSuffix(w, "alli") && measure(w[:len(w)-4]) > 0 {
		return step2(w[:len(w)-2])
	}
	return applyRules(w, step2Rules)
}

// applyRules is the reference's _apply_rule_list: the first rule whose suffix
// matches decides, whether or not its condition holds.
func applyRules[T char](w []T, rules []porterRule) []T {
	for _, r := range rules {
		var stem []T
		switch {
		case r.suffix == starDouble:
			if !endsDoubleConsonant(w) {
				continue
			}
			stem = w[:len(w)-2]
		case hasSuffix(w, r.suffix):
			stem = w[:len(w)-len(r.suffix)]
		default:
			continue
		}
		if !porterCond(r.cond, w, stem) {
			return w
		}
		if r.cond == condDouble {
			return w[:len(w)-1] // stem + the doubled letter once
		}
		for i := 0; i < len(r.repl); i++ {
			stem = append(stem, T(r.repl[i]))
		}
		return stem
	}
	return w
}

func porterCond[T char](cond int, word, stem []T) bool {
	switch cond {
	case condM0:
		return measure(stem) > 0
	case condM1:
		return measure(stem) > 1
	case condIon:
		return measure(stem) > 1 && (stem[len(stem)-1] == 's' || stem[len(stem)-1] == 't')
	case condLogi:
		return measure(word[:len(word)-3]) > 0
	case condE:
		return measure(stem) == 1 && endsCVC(stem)
	case condDouble:
		last := word[len(word)-1]
		return last != 'l' && last != 's' && last != 'z'
	case condY:
		return len(stem) > 1 && isConsonant(stem, len(stem)-1)
	case condLLWord:
		return measure(word[:len(word)-1]) > 1
	}
	return true
}

func hasSuffix[T char](w []T, s string) bool {
	if len(w) < len(s) {
		return false
	}
	w = w[len(w)-len(s):]
	for i := 0; i < len(s); i++ {
		if w[i] != T(s[i]) {
			return false
		}
	}
	return true
}

func isConsonant[T char](w []T, i int) bool {
	switch w[i] {
	case 'a', 'e', 'i', 'o', 'u':
		return false
	case 'y':
		return i == 0 || !isConsonant(w, i-1)
	}
	return true
}

// measure is m in [C](VC){m}[V]: the number of vowel-to-consonant changes.
func measure[T char](w []T) int {
	m := 0
	prevVowel := false
	for i := range w {
		c := isConsonant(w, i)
		if c && prevVowel {
			m++
		}
		prevVowel = !c
	}
	return m
}

func containsVowel[T char](w []T) bool {
	for i := range w {
		if !isConsonant(w, i) {
			return true
		}
	}
	return false
}

func endsDoubleConsonant[T char](w []T) bool {
	n := len(w)
	return n >= 2 && w[n-1] == w[n-2] && isConsonant(w, n-1)
}

// endsCVC is *o, with NLTK's extension to two-letter vowel-consonant stems.
func endsCVC[T char](w []T) bool {
	n := len(w)
	if n >= 3 && isConsonant(w, n-3) && !isConsonant(w, n-2) && isConsonant(w, n-1) &&
		w[n-1] != 'w' && w[n-1] != 'x' && w[n-1] != 'y' {
		return true
	}
	return n == 2 && !isConsonant(w, 0) && isConsonant(w, 1)
}
