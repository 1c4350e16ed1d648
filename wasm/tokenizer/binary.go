package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// The compact form ("tokenizer.bin") holds exactly the tables a Tokenizer
// runs on, so loading it is a few loops instead of parsing 7 MB of JSON: it
// is what the browser fetches (about a third of tokenizer.json's gzipped
// size). Layout, integers as unsigned LEB128 varints unless noted:
//
//	magic "medqa-bpe 1\n"
//	flags: 1 NFC, 2 ignore_merges, 4 clean_up_tokenization_spaces
//	EOS, PAD, BOS: id+1, 0 for none
//	token count, merge count
//	merges in rank order: left, right, and the result's id as a zigzag
//	  delta from the previous result + 1 (0 for vocabularies whose ids
//	  follow merge order, like Qwen's)
//	per token id: 0 = the bytes of its left+right (the first merge that
//	  makes it), 1 = an added token, n ≥ 2 = n-2 literal bytes follow
//	added tokens: count, then id, flags (1 special, 2 lstrip, 4 rstrip,
//	  8 normalized, 16 single_word), content length, content
const binaryMagic = "medqa-bpe 1\n"

// Bounds on what a tokenizer.bin may make ParseBinary allocate beyond its own size: one
// derived token, and all tokens' bytes together (Qwen2.5's take about 1 MB).
const (
	maxDerivedBytes = 1 << 16
	maxArenaBytes   = 1 << 28
)

const (
	flagNFC = 1 << iota
	flagIgnoreMerges
	flagCleanUp
)

const (
	addedSpecial = 1 << iota
	addedLstrip
	addedRstrip
	addedNormalized
	addedSingleWord
)

// MarshalBinary returns the compact form of t, which ParseBinary reads.
func (t *Tokenizer) MarshalBinary() ([]byte, error) {
	out := []byte(binaryMagic)
	put := func(v int) { out = binary.AppendUvarint(out, uint64(v)) }
	flags := 0
	if t.nfc {
		flags |= flagNFC
	}
	if t.ignoreMerges {
		flags |= flagIgnoreMerges
	}
	if t.cleanUp {
		flags |= flagCleanUp
	}
	put(flags)
	put(t.special.EOS + 1)
	put(t.special.PAD + 1)
	put(t.special.BOS + 1)
	n := t.VocabSize()
	merges := t.merges.all()
	put(n)
	put(len(merges))

	// A token is derived from the first merge that makes it when both parts
	// are known by then; every other token is written out.
	made := make([]bool, n)
	for _, m := range merges {
		made[m.result] = true
	}
	known := make([]bool, n)
	for id := range known {
		known[id] = !made[id]
	}
	derived := make([]bool, n)
	prev := int64(-1)
	for _, m := range merges {
		put(int(m.left))
		put(int(m.right))
		out = binary.AppendVarint(out, int64(m.result)-prev-1)
		prev = int64(m.result)
		if !known[m.result] && known[m.left] && known[m.right] {
			known[m.result], derived[m.result] = true, true
		}
	}
	for id := 0; id < n; id++ {
		switch {
		case t.added[id] != nil:
			put(1)
		case derived[id]:
			put(0)
		default:
			b := t.bytesOf(int32(id))
			put(len(b) + 2)
			out = append(out, b...)
		}
	}
	put(len(t.addedList))
	for _, a := range t.addedList {
		f := 0
		for _, b := range []struct {
			on  bool
			bit int
		}{{a.special, addedSpecial}, {a.lstrip, addedLstrip}, {a.rstrip, addedRstrip},
			{a.normalized, addedNormalized}, {a.singleWord, addedSingleWord}} {
			if b.on {
				f |= b.bit
			}
		}
		put(int(a.id))
		put(f)
		put(len(a.content))
		out = append(out, a.content...)
	}
	return out, nil
}

type merge struct{ rank, left, right, result int32 }

// all returns the merges in rank order.
func (t *mergeTable) all() []merge {
	var out []merge
	for i, k := range t.keys {
		if k != emptyKey {
			v := t.vals[i]
			out = append(out, merge{int32(v >> 32), int32(k >> 32), int32(uint32(k)), int32(uint32(v))})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].rank < out[b].rank })
	return out
}

// binReader reads varints, remembering the first error.
type binReader struct {
	data []byte
	off  int
	err  error
}

func (r *binReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("tokenizer.bin: offset %d: %s", r.off, fmt.Sprintf(format, args...))
	}
}

// int reads a varint that must be below limit.
func (r *binReader) int(limit int, what string) int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data[r.off:])
	if n <= 0 {
		r.fail("truncated or malformed %s", what)
		return 0
	}
	if v >= uint64(limit) {
		r.fail("%s %d out of range (limit %d)", what, v, limit)
		return 0
	}
	r.off += n
	return int(v)
}

// signed reads a zigzag varint.
func (r *binReader) signed(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.data[r.off:])
	if n <= 0 {
		r.fail("truncated or malformed %s", what)
		return 0
	}
	r.off += n
	return v
}

func (r *binReader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.data)-r.off {
		r.fail("truncated %s", what)
		return nil
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

// ParseBinary reads the compact form written by MarshalBinary. The special
// tokens' roles and clean_up_tokenization_spaces come from configJSON (the
// contents of tokenizer_config.json) when it is not nil, else from data.
func ParseBinary(data, configJSON []byte) (*Tokenizer, error) {
	if len(data) < len(binaryMagic) || string(data[:len(binaryMagic)]) != binaryMagic {
		return nil, errors.New("tokenizer.bin: not a medqa-bpe 1 file")
	}
	r := &binReader{data: data, off: len(binaryMagic)}
	const maxTokens = 1 << 24
	flags := r.int(8, "flags")
	t := &Tokenizer{cache: newWordCache(), nfc: flags&flagNFC != 0, ignoreMerges: flags&flagIgnoreMerges != 0, cleanUp: flags&flagCleanUp != 0}
	eos, pad, bos := r.int(maxTokens, "EOS")-1, r.int(maxTokens, "PAD")-1, r.int(maxTokens, "BOS")-1
	// Every token takes at least one byte and every merge three, which
	// bounds what a damaged count can make us allocate.
	n := r.int(min(maxTokens, len(data)), "token count")
	nm := r.int(min(maxTokens, len(data)/3+1), "merge count")
	if r.err != nil {
		return nil, r.err
	}
	merges := make([]merge, nm)
	prev := int64(-1)
	for i := range merges {
		left, right := r.int(n, "merge left"), r.int(n, "merge right")
		result := prev + 1 + r.signed("merge result")
		if r.err == nil && (result < 0 || result >= int64(n)) {
			r.fail("merge %d: result id %d out of range", i, result)
		}
		merges[i] = merge{int32(i), int32(left), int32(right), int32(result)}
		prev = result
	}
	if r.err != nil {
		return nil, r.err
	}
	kind := make([]int, n)
	literal := make([][]byte, n)
	for id := range kind {
		if kind[id] = r.int(1<<20, "token"); kind[id] >= 2 {
			literal[id] = r.bytes(kind[id]-2, "token bytes")
		}
	}
	t.added = make([]*addedToken, n)
	na := r.int(n+1, "added count")
	for i := 0; i < na && r.err == nil; i++ {
		id := r.int(n, "added id")
		f := r.int(32, "added flags")
		content := string(r.bytes(r.int(1<<20, "added length"), "added content"))
		if r.err == nil && (kind[id] != 1 || t.added[id] != nil || content == "") {
			r.fail("added token %d: not marked as added, repeated or empty", id)
		}
		a := &addedToken{id: int32(id), content: content, special: f&addedSpecial != 0, lstrip: f&addedLstrip != 0,
			rstrip: f&addedRstrip != 0, normalized: f&addedNormalized != 0, singleWord: f&addedSingleWord != 0}
		t.added[id] = a
		t.addedList = append(t.addedList, a)
	}
	if r.err == nil && r.off != len(data) {
		r.fail("%d bytes of trailing data", len(data)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}

	// Token bytes go into one arena: sizes first (a derived token is as
	// long as its parts), then literals, then derived tokens in merge order
	// so that their parts are always in place.
	size := make([]int, n)
	for id, k := range kind {
		size[id] = max(k-2, 0)
	}
	t.merges = newMergeTable(nm)
	madeBy := make([]int32, n)
	for i := range madeBy {
		madeBy[i] = -1
	}
	for _, m := range merges {
		if kind[m.result] == 0 && madeBy[m.result] < 0 {
			l, rt := m.left, m.right
			if (kind[l] == 0 && madeBy[l] < 0) || (kind[rt] == 0 && madeBy[rt] < 0) || kind[l] == 1 || kind[rt] == 1 {
				return nil, fmt.Errorf("tokenizer.bin: merge %d derives token %d from unknown parts", m.rank, m.result)
			}
			madeBy[m.result] = m.rank
			size[m.result] = size[l] + size[rt]
			// Each merge may double a token, so 40 merges in a 150-byte file could ask for
			// a terabyte: bound every derived token (real ones are tens of bytes).
			if size[m.result] > maxDerivedBytes {
				return nil, fmt.Errorf("tokenizer.bin: merge %d derives token %d of %d bytes (limit %d)", m.rank, m.result, size[m.result], maxDerivedBytes)
			}
		}
		t.merges.add(m.left, m.right, m.rank, m.result)
	}
	t.tokOff = make([]uint32, n+1)
	for id := 0; id < n; id++ {
		if kind[id] == 0 && madeBy[id] < 0 {
			return nil, fmt.Errorf("tokenizer.bin: token %d is derived but no merge makes it", id)
		}
		if kind[id] == 1 && t.added[id] == nil {
			return nil, fmt.Errorf("tokenizer.bin: token %d is marked added but not listed", id)
		}
		if int(t.tokOff[id])+size[id] > maxArenaBytes {
			return nil, fmt.Errorf("tokenizer.bin: token bytes exceed %d in all", maxArenaBytes)
		}
		t.tokOff[id+1] = t.tokOff[id] + uint32(size[id])
	}
	t.tokBytes = make([]byte, t.tokOff[n])
	for id, b := range literal {
		copy(t.tokBytes[t.tokOff[id]:], b)
	}
	for _, m := range merges {
		if madeBy[m.result] == m.rank {
			at := t.tokOff[m.result]
			at += uint32(copy(t.tokBytes[at:], t.bytesOf(m.left)))
			copy(t.tokBytes[at:], t.bytesOf(m.right))
		}
	}
	seen := [256]bool{}
	for id := int32(0); id < int32(n); id++ {
		if b := t.bytesOf(id); kind[id] != 1 && len(b) == 1 && !seen[b[0]] {
			seen[b[0]], t.byteID[b[0]] = true, id
		}
	}
	for b, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("tokenizer.bin: no token for byte 0x%02X", b)
		}
	}
	t.initAdded()
	if configJSON == nil {
		t.special = Special{EOS: eos, PAD: pad, BOS: bos}
		t.initChatML()
		return t, nil
	}
	cfg, err := parseConfig(configJSON)
	if err != nil {
		return nil, err
	}
	if err := t.setSpecial(cfg); err != nil {
		return nil, err
	}
	return t, nil
}
