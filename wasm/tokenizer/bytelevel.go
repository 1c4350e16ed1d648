package tokenizer

import "unicode/utf8"

// GPT-2's byte-level alphabet: every byte gets a printable rune so that BPE
// vocabularies can be stored as JSON text. Printable Latin-1 bytes map to
// themselves; the 68 others map to U+0100 onwards in byte order.
var (
	byteToRune [256]rune
	runeToByte [0x144]int16 // -1: not in the alphabet; the highest rune is U+0143
)

func init() {
	for i := range runeToByte {
		runeToByte[i] = -1
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = 256 + n
			n++
		}
		runeToByte[byteToRune[b]] = int16(b)
	}
}

// unByteLevel turns a vocabulary string ("Ġthe") back into the bytes it
// stands for (" the"). ok is false when a rune is outside the alphabet.
func unByteLevel(dst []byte, s string) ([]byte, bool) {
	for _, r := range s {
		if r >= rune(len(runeToByte)) || runeToByte[r] < 0 {
			return dst, false
		}
		dst = append(dst, byte(runeToByte[r]))
	}
	return dst, true
}

// byteLevel is the inverse of unByteLevel.
func byteLevel(b []byte) string {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = utf8.AppendRune(out, byteToRune[c])
	}
	return string(out)
}
