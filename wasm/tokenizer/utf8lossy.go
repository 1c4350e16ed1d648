package tokenizer

import "unicode/utf8"

const replacement = "\uFFFD"

// appendLossy appends src to dst as valid UTF-8, replacing every maximal
// ill-formed subpart with U+FFFD: the WHATWG decoder's rule, which
// TextDecoder (transformers.js) and Rust's from_utf8_lossy (tokenizers) both
// follow. Unless final, an incomplete but so far well-formed sequence at the
// end of src is left for the next call; consumed says how far it got.
func appendLossy(dst, src []byte, final bool) (out []byte, consumed int) {
	i := 0
	for i < len(src) {
		c := src[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		need, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0
		case c == 0xED:
			need, hi = 2, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			need = 2
		case c == 0xF0:
			need, lo = 3, 0x90
		case c == 0xF4:
			need, hi = 3, 0x8F
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		default: // a stray continuation byte or one that never starts a sequence
			dst = append(dst, replacement...)
			i++
			continue
		}
		j := i + 1
		for ; j <= i+need && j < len(src); j++ {
			if b := src[j]; b < lo || b > hi {
				break
			}
			lo, hi = 0x80, 0xBF
		}
		switch {
		case j == i+need+1:
			dst = append(dst, src[i:j]...)
		case j == len(src) && !final:
			return dst, i
		default:
			dst = append(dst, replacement...)
		}
		i = j
	}
	return dst, i
}

// validUTF8 returns s unchanged when it is valid UTF-8, else its lossy form.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out, _ := appendLossy(nil, []byte(s), true)
	return string(out)
}
