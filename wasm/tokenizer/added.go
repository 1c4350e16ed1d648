package tokenizer

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens: text matched
// verbatim in the input before any pre-tokenization.
type addedToken struct {
	id         int32
	content    string
	special    bool
	lstrip     bool // swallow white space (Unicode White_Space, as tokenizers) on the left
	rstrip     bool // swallow white space on the right
	normalized bool // matched in the normalized text rather than the raw text
	singleWord bool // only matched when not inside a word (tokenizers honours it; transformers.js ignores it)
}

// matcher finds added tokens leftmost-longest, as both tokenizers'
// aho-corasick and transformers.js's trie splitter do.
type matcher struct {
	first [256]bool
	toks  []*addedToken // longest first
}

func newMatcher(toks []*addedToken) *matcher {
	m := &matcher{toks: append([]*addedToken(nil), toks...)}
	sort.SliceStable(m.toks, func(a, b int) bool { return len(m.toks[a].content) > len(m.toks[b].content) })
	for _, t := range m.toks {
		m.first[t.content[0]] = true
	}
	return m
}

// find returns the first match in s at or after from: the token and the span
// it replaces, including whitespace swallowed by lstrip/rstrip. ok is false
// when there is none.
func (m *matcher) find(s string, from int) (tok *addedToken, start, end int, ok bool) {
	if len(m.toks) == 0 {
		return nil, 0, 0, false
	}
	for i := from; i < len(s); i++ {
		if !m.first[s[i]] {
			continue
		}
		for _, t := range m.toks {
			if len(s)-i < len(t.content) || s[i:i+len(t.content)] != t.content {
				continue
			}
			end := i + len(t.content)
			if t.singleWord && (isWordBefore(s, i) || isWordAfter(s, end)) {
				continue
			}
			start := i
			if t.lstrip {
				for start > from {
					r, n := utf8.DecodeLastRuneInString(s[from:start])
					if !unicode.IsSpace(r) {
						break
					}
					start -= n
				}
			}
			if t.rstrip {
				for end < len(s) {
					r, n := utf8.DecodeRuneInString(s[end:])
					if !unicode.IsSpace(r) {
						break
					}
					end += n
				}
			}
			return t, start, end, true
		}
	}
	return nil, 0, 0, false
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func isWordBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWordRune(r)
}

func isWordAfter(s string, i int) bool {
	if i == len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWordRune(r)
}
