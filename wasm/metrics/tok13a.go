package metrics

import "strings"

// Tokenize13a is mteval-v13a tokenisation as both evaluate's bleu
// (metrics/bleu/tokenizer_13a.py) and sacreBLEU implement it. The two differ
// in one step: sacreBLEU calls rstrip() on the text first, so with
// rstrip=false a trailing "-\n" is joined away ("aspirin-\n" -> "aspirin")
// while with rstrip=true it stays ("aspirin-").
//
// The four regular-expression passes of the reference are written as byte
// scanners: every character they look at is ASCII, and a UTF-8 multi-byte
// sequence never contains ASCII bytes, so scanning bytes rewrites the text
// exactly as Python's re.sub does scanning code points.
func Tokenize13a(line string, rstrip bool) []string {
	if rstrip {
		line = pyRstrip(line)
	}
	if strings.Contains(line, "<skipped>") {
		line = strings.ReplaceAll(line, "<skipped>", "")
	}
	if strings.Contains(line, "\n") {
		line = strings.ReplaceAll(line, "-\n", "")
		line = strings.ReplaceAll(line, "\n", " ")
	}
	if strings.Contains(line, "&") {
		// Sequential, as in the reference: "&amp;lt;" ends up as "<".
		line = strings.ReplaceAll(line, "&quot;", `"`)
		line = strings.ReplaceAll(line, "&amp;", "&")
		line = strings.ReplaceAll(line, "&lt;", "<")
		line = strings.ReplaceAll(line, "&gt;", ">")
	}
	buf := make([]byte, 0, len(line)*2+2)
	buf = append(buf, ' ')
	// ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
	for i := 0; i < len(line); i++ {
		c := line[i]
		if isolated13a(c) {
			buf = append(buf, ' ', c, ' ')
		} else {
			buf = append(buf, c)
		}
	}
	buf = append(buf, ' ')
	out := make([]byte, 0, len(buf)+16)
	// ([^0-9])([\.,]) -> "\1 \2 "  (period and comma unless preceded by a digit)
	for i := 0; i < len(buf); i++ {
		if i+1 < len(buf) && !isDigit(buf[i]) && (buf[i+1] == '.' || buf[i+1] == ',') {
			out = append(out, buf[i], ' ', buf[i+1], ' ')
			i++
		} else {
			out = append(out, buf[i])
		}
	}
	buf, out = out, buf[:0]
	// ([\.,])([^0-9]) -> " \1 \2"  (period and comma unless followed by a digit)
	for i := 0; i < len(buf); i++ {
		if i+1 < len(buf) && (buf[i] == '.' || buf[i] == ',') && !isDigit(buf[i+1]) {
			out = append(out, ' ', buf[i], ' ', buf[i+1])
			i++
		} else {
			out = append(out, buf[i])
		}
	}
	buf, out = out, buf[:0]
	// ([0-9])(-) -> "\1 \2 "  (dash when preceded by a digit)
	for i := 0; i < len(buf); i++ {
		if i+1 < len(buf) && isDigit(buf[i]) && buf[i+1] == '-' {
			out = append(out, buf[i], ' ', '-', ' ')
			i++
		} else {
			out = append(out, buf[i])
		}
	}
	return pySplit(string(out))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isolated13a is the first 13a character class: ASCII punctuation and
// symbols except ' , - . (space is in the class too; padding it is harmless).
func isolated13a(c byte) bool {
	switch {
	case c >= '{' && c <= '~', c >= '[' && c <= '`', c >= ' ' && c <= '&',
		c >= '(' && c <= '+', c >= ':' && c <= '@', c == '/':
		return true
	}
	return false
}
