package metrics

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The reference scores come from CPython 3.11, whose character database is
// Unicode 14.0; Go's unicode package is 15.0. The helpers here reproduce the
// Python string operations the metric scripts use (str.lower, str.split,
// str.rstrip and the re module's \b) for every code point, and
// testdata/py311_unicode.json, dumped from CPython, checks them all.

// newInUnicode15 lists the code points assigned in Unicode 15.0 but not in
// 14.0: Python treats them as unassigned (no case, not alphanumeric).
var newInUnicode15 = [...][2]rune{
	{0x0CF3, 0x0CF3}, {0x0ECE, 0x0ECE}, {0x10EFD, 0x10EFF}, {0x1123F, 0x11241},
	{0x11B00, 0x11B09}, {0x11F00, 0x11F10}, {0x11F12, 0x11F3A}, {0x11F3E, 0x11F59},
	{0x1342F, 0x1342F}, {0x13439, 0x13455}, {0x1B132, 0x1B132}, {0x1B155, 0x1B155},
	{0x1D2C0, 0x1D2D3}, {0x1DF25, 0x1DF2A}, {0x1E030, 0x1E06D}, {0x1E08F, 0x1E08F},
	{0x1E4D0, 0x1E4F9}, {0x1F6DC, 0x1F6DC}, {0x1F774, 0x1F776}, {0x1F77B, 0x1F77F},
	{0x1F7D9, 0x1F7D9}, {0x1FA75, 0x1FA77}, {0x1FA87, 0x1FA88}, {0x1FAAD, 0x1FAAF},
	{0x1FABB, 0x1FABD}, {0x1FABF, 0x1FABF}, {0x1FACE, 0x1FACF}, {0x1FADA, 0x1FADB},
	{0x1FAE8, 0x1FAE8}, {0x1FAF7, 0x1FAF8}, {0x2B739, 0x2B739}, {0x31350, 0x323AF},
}

func unassignedInPython(r rune) bool {
	lo, hi := 0, len(newInUnicode15)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < newInUnicode15[m][0]:
			hi = m
		case r > newInUnicode15[m][1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// isPySpace is Python's str.isspace for one code point: the split()/strip()
// whitespace set. Unlike unicode.IsSpace it includes U+001C..U+001F.
func isPySpace(r rune) bool {
	switch {
	case r <= ' ':
		return (r >= '\t' && r <= '\r') || (r >= 0x1C && r <= ' ')
	case r < 0x85:
		return false
	}
	switch r {
	case 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// isPyWord is the re module's \w for str patterns: str.isalnum() or '_'.
// Combining marks are not word characters, so "a\u0301" ends a word after "a".
func isPyWord(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || (r >= '0' && r <= '9') || (r|0x20 >= 'a' && r|0x20 <= 'z')
	}
	return (unicode.IsLetter(r) || unicode.IsNumber(r)) && !unassignedInPython(r)
}

// Word_Break MidLetter, MidNumLet and Single_Quote: part of Case_Ignorable.
func isWordBreakMid(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return false
}

// isCaseIgnorable is Unicode's Case_Ignorable property (Python's database flag).
func isCaseIgnorable(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '\'' || r == '.' || r == ':' || r == '^' || r == '`'
	}
	return (isWordBreakMid(r) || unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)) &&
		!unassignedInPython(r)
}

// isCased is Unicode's Cased property.
func isCased(r rune) bool {
	if r < utf8.RuneSelf {
		return r|0x20 >= 'a' && r|0x20 <= 'z'
	}
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase) &&
		!unassignedInPython(r)
}

// pyLower is Python's str.lower(): the full lowercase mapping, so U+0130 (İ)
// becomes "i\u0307", and U+03A3 (Σ) becomes final ς where Unicode's
// Final_Sigma context holds (CPython's handle_capital_sigma).
func pyLower(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x130:
			b.WriteString("i\u0307")
		case r == 0x3A3:
			if finalSigma(s, i, i+n) {
				b.WriteRune(0x3C2)
			} else {
				b.WriteRune(0x3C3)
			}
		case r == utf8.RuneError && n == 1:
			b.WriteByte(c) // keep invalid bytes as they are
		case unassignedInPython(r):
			b.WriteRune(r)
		default:
			b.WriteRune(unicode.ToLower(r))
		}
		i += n
	}
	return b.String()
}

// finalSigma reports whether the Σ at s[start:end] is preceded by a cased
// letter and not followed by one, skipping case-ignorable characters.
func finalSigma(s string, start, end int) bool {
	j := start
	found := false
	for j > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
		if !isCaseIgnorable(r) {
			found = isCased(r)
			break
		}
	}
	if !found {
		return false
	}
	for k := end; k < len(s); {
		r, n := utf8.DecodeRuneInString(s[k:])
		k += n
		if !isCaseIgnorable(r) {
			return !isCased(r)
		}
	}
	return true
}

// pySplit is Python's str.split() with no arguments.
func pySplit(s string) []string {
	return appendPyFields(nil, s)
}

// appendPyFields appends the str.split() fields of s to dst.
func appendPyFields(dst []string, s string) []string {
	start := -1
	for i := 0; i < len(s); {
		c := s[i]
		var space bool
		n := 1
		if c < utf8.RuneSelf {
			space = (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= ' ')
		} else {
			var r rune
			r, n = utf8.DecodeRuneInString(s[i:])
			space = isPySpace(r)
		}
		if space {
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		i += n
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// pyRstrip is Python's str.rstrip() with no arguments.
func pyRstrip(s string) string {
	for len(s) > 0 {
		r, n := utf8.DecodeLastRuneInString(s)
		if !isPySpace(r) || (r == utf8.RuneError && n == 1) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}
