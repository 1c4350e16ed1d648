package tokenizer_test

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"medqa/assets"
	"medqa/wasm/tokenizer"
)

var (
	fuzzOnce sync.Once
	fuzzTok  *tokenizer.Tokenizer
)

// shipped loads the embedded tokenizer, so fuzzing needs no files at all.
func shipped(t testing.TB) *tokenizer.Tokenizer {
	fuzzOnce.Do(func() {
		var err error
		if fuzzTok, err = tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerBase); err != nil {
			panic(err)
		}
	})
	return fuzzTok
}

var fuzzSeeds = []string{
	"", " ", "Hello, my dog is cute", "don't can't Y'ALL 'll", "a    b\n\n\n  c\r\n\t",
	"e\u0301 A\u030a \u1100\u1161\u11a8", "血压 😀👨‍👩‍👧 ❤️", "<|im_start|>user\nhi<|im_end|>\n",
	"<|im_end|>\u0338", "x<|endoftext|><|endoftext|>y", "\u00a0\u3000\u2028\u0085\ufeff", "12345.678",
	strings.Repeat("a", 300), strings.Repeat(" ", 70) + "x",
}

// normalizedPieces is what Encode normalizes: the text between added
// tokens, each piece on its own (so "<|im_end|>" + U+0338 does not become
// "<|im_end≯"). It finds added tokens leftmost-longest by brute force.
func normalizedPieces(tok *tokenizer.Tokenizer, s string) string {
	var added []string
	for id := 151643; id < tok.VocabSize(); id++ {
		a, _ := tok.Token(id)
		added = append(added, a)
	}
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		best := ""
		for _, a := range added {
			if strings.HasPrefix(s[i:], a) && len(a) > len(best) {
				best = a
			}
		}
		if best != "" {
			b.WriteString(norm.NFC.String(s[start:i]) + best)
			i += len(best) - 1
			start = i + 1
		}
	}
	b.WriteString(norm.NFC.String(s[start:]))
	return b.String()
}

// FuzzRoundTrip: decoding an encoding gives back the NFC form of the text.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	tok := shipped(f)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		got := tok.Decode(tok.Encode(s))
		if want := norm.NFC.String(s); got != want && got != normalizedPieces(tok, s) {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
	})
}

// FuzzStreamDecoder: any id sequence (out-of-range ids included) streams
// without panicking, every piece is valid UTF-8, and the pieces add up to
// Decode's result.
func FuzzStreamDecoder(f *testing.F) {
	tok := shipped(f)
	for _, s := range fuzzSeeds {
		var b []byte
		for _, id := range tok.Encode(s) {
			b = append(b, byte(id>>16), byte(id>>8), byte(id))
		}
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0xE5, 0xFF, 0xFF, 0xFF}) // a lead byte's token, then an invalid id
	f.Fuzz(func(t *testing.T, b []byte) {
		ids := make([]int, 0, len(b)/3)
		for i := 0; i+2 < len(b); i += 3 {
			id := int(b[i])<<16 | int(b[i+1])<<8 | int(b[i+2])
			if b[i]&0x80 == 0 { // mostly valid ids; sometimes negative or too large
				id %= tok.VocabSize()
			} else if b[i]&0x40 != 0 {
				id = -id
			}
			ids = append(ids, id)
		}
		d := tok.NewStreamDecoder()
		var got strings.Builder
		for _, id := range ids {
			piece := d.Push(id)
			if !utf8.ValidString(piece) {
				t.Fatalf("Push(%d) = %q: invalid UTF-8", id, piece)
			}
			got.WriteString(piece)
		}
		got.WriteString(d.Flush())
		if want := tok.Decode(ids); got.String() != want {
			t.Fatalf("stream %q, Decode %q (ids %v)", got.String(), want, ids)
		}
	})
}
