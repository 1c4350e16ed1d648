package tokenizer

import (
	"sort"
	"unicode/utf8"
)

//go:generate node gen_unicode.mjs

// qwen2Pattern is the only pre-tokenizer split that Load accepts; nextWord
// implements it by hand because Go's regexp has no lookahead.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Character classes of the pattern. \s is Unicode White_Space (as in
// Oniguruma and Rust, and as @huggingface/tokenizers rewrites it for JS):
// it includes U+0085 and excludes U+FEFF, unlike a bare JS \s. The tables
// come from gen_unicode.mjs, not Go's unicode package, whose Unicode is
// older than the references'.
type class uint8

const (
	clOther   class = iota // [^\s\p{L}\p{N}]
	clLetter               // \p{L}
	clNumber               // \p{N}
	clSpace                // \s other than \r and \n
	clNewline              // \r or \n
)

var (
	asciiClass [128]class
	bmpClass   [0x10000]class // from classRanges; astral code points search it
)

type classRange struct {
	lo, hi rune
	class  class
}

func init() {
	for _, r := range classRanges {
		for c := r.lo; c <= r.hi && c < 0x10000; c++ {
			bmpClass[c] = r.class
		}
	}
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			asciiClass[c] = clLetter
		case c >= '0' && c <= '9':
			asciiClass[c] = clNumber
		case c == '\r' || c == '\n':
			asciiClass[c] = clNewline
		case c == ' ' || (c >= '\t' && c <= '\f'):
			asciiClass[c] = clSpace
		}
		bmpClass[c] = asciiClass[c]
	}
}

func classOf(r rune) class {
	if r < 0x10000 {
		return bmpClass[r]
	}
	i := sort.Search(len(classRanges), func(i int) bool { return classRanges[i].hi >= r })
	if i < len(classRanges) && classRanges[i].lo <= r {
		return classRanges[i].class
	}
	return clOther
}

// at returns the class and byte length of the rune starting at s[i].
// Invalid UTF-8 never reaches here: Encode replaces it first.
func at(s string, i int) (class, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return classOf(r), n
}

// skip returns the end of the run of runes of class c starting at i.
func skip(s string, i int, c class) int {
	for i < len(s) {
		ci, n := at(s, i)
		if ci != c {
			break
		}
		i += n
	}
	return i
}

// nextWord returns the end of the pre-token that starts at s[i], trying the
// pattern's alternatives in order exactly as a backtracking regex engine
// would (leftmost-first).
func nextWord(s string, i int) int {
	c0, n0 := at(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d): ASCII case folding only.
	if s[i] == '\'' && i+1 < len(s) {
		switch s[i+1] | 0x20 {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2]|0x20 == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2]|0x20 == 'l' {
				return i + 3
			}
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 == clLetter {
		return skip(s, i+n0, clLetter)
	}
	if (c0 == clOther || c0 == clSpace) && i+n0 < len(s) {
		if c1, _ := at(s, i+n0); c1 == clLetter {
			return skip(s, i+n0, clLetter)
		}
	}
	// \p{N}
	if c0 == clNumber {
		return i + n0
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	j := i
	if s[i] == ' ' && i+1 < len(s) {
		if c1, _ := at(s, i+1); c1 == clOther {
			j = i + 1
		}
	}
	if cj, _ := at(s, j); cj == clOther {
		j = skip(s, j, clOther)
		return skip(s, j, clNewline)
	}
	// Only whitespace is left. \s*[\r\n]+ ends after the run's last newline;
	// \s+(?!\S) leaves the run's last rune to the next word unless the text
	// ends; \s+ takes the whole run.
	end, lastNL, lastStart := i, -1, i
	for end < len(s) {
		c, n := at(s, end)
		if c != clSpace && c != clNewline {
			break
		}
		if c == clNewline {
			lastNL = end
		}
		lastStart = end
		end += n
	}
	switch {
	case lastNL >= 0:
		return lastNL + 1
	case end == len(s) || lastStart == i:
		return end
	default:
		return lastStart
	}
}
