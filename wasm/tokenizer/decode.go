package tokenizer

import "strings"

// Decode returns the text of ids, special tokens included (skip them with
// IsSpecial first if they are unwanted). Bytes that do not form valid UTF-8
// become U+FFFD; ids outside the vocabulary are skipped, as in
// transformers.js.
func (t *Tokenizer) Decode(ids []int) string {
	var out, pending []byte
	for _, id := range ids {
		if id < 0 || id >= t.VocabSize() {
			continue
		}
		if a := t.added[id]; a != nil {
			// Added tokens are text, not bytes: the bytes before one are
			// decoded on their own, as both reference decoders do.
			out, _ = appendLossy(out, pending, true)
			pending = pending[:0]
			out = append(out, a.content...)
			continue
		}
		pending = append(pending, t.bytesOf(int32(id))...)
	}
	out, _ = appendLossy(out, pending, true)
	if t.cleanUp {
		return cleanUpSpaces(string(out))
	}
	return string(out)
}

// cleanUpSpaces is transformers' clean_up_tokenization: it removes the space
// that old word-level tokenizers put before punctuation and contractions.
var cleanUpSpaces = strings.NewReplacer(
	" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'",
	" n't", "n't", " 'm", "'m", " 's", "'s", " 've", "'ve", " 're", "'re",
).Replace

// StreamDecoder turns ids into text one at a time, as a model generates
// them. A token may end in the middle of a UTF-8 character; Push holds such
// bytes back until the character is complete, so every string it returns is
// valid UTF-8 and the concatenation of all Push results and Flush equals
// Decode of all ids (clean_up_tokenization_spaces aside, which Qwen leaves
// off). A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte // an incomplete UTF-8 sequence, at most 3 bytes
	out     []byte
}

// NewStreamDecoder returns a decoder for one generated sequence.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Push adds one id and returns the text that is now complete, often "".
func (d *StreamDecoder) Push(id int) string {
	t := d.t
	if id < 0 || id >= t.VocabSize() {
		return ""
	}
	d.out = d.out[:0]
	if a := t.added[id]; a != nil {
		d.out, _ = appendLossy(d.out, d.pending, true)
		d.pending = d.pending[:0]
		d.out = append(d.out, a.content...)
		return string(d.out)
	}
	d.pending = append(d.pending, t.bytesOf(int32(id))...)
	var n int
	d.out, n = appendLossy(d.out, d.pending, false)
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return string(d.out)
}

// Flush returns what is held back (U+FFFD for an unfinished character) and
// resets the decoder.
func (d *StreamDecoder) Flush() string {
	out, _ := appendLossy(nil, d.pending, true)
	d.pending = d.pending[:0]
	return string(out)
}
