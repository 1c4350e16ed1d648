// Package vocab trims a byte-level BPE tokenizer (Qwen2.5's, 151,665 ids)
// to the tokens a corpus uses, so that a small model trained from scratch
// does not spend most of its parameters on an embedding table and LM head
// for tokens it never sees.
//
// The trimmed tokenizer keeps
//   - the 256 byte tokens, so every text still encodes and round-trips;
//   - every token the corpus's encoding produces (those seen fewer than
//     MinCount times may be dropped; the encoding then splits them into
//     kept pieces);
//   - the closure under merges: a merge is kept iff its result is kept, and
//     then both its parts are kept too.
//
// Why the closure keeps the corpus's encoding unchanged (MinCount 1): BPE
// applies, at each step, the lowest-ranked merge among the adjacent pairs.
// Every merge the original applies while encoding a corpus word builds a
// node of the merge tree of a token in the output, whose result is kept,
// so the merge is kept; removing other merges removes only candidates that
// were never the minimum. The trimmed encoding therefore makes the same
// choice at every step.
//
// Layout: model tokens keep their original relative order (so the 256 byte
// tokens stay at ids 0…255, as in Qwen2.5), renumbered without gaps; the
// added tokens (<|endoftext|>, <|im_start|>, <|im_end|>, …) follow at the
// end in their original order, exactly as in Qwen2.5.
package vocab

import (
	"fmt"
	"sort"
)

// Source is a tokenizer.json's BPE model: its vocabulary and merges in
// byte-level form, and its added tokens.
type Source struct {
	Vocab  map[string]int32 // model tokens → id
	Merges [][2]string      // in rank order
	Added  []AddedToken     // in tokenizer.json order
}

// AddedToken is an entry of tokenizer.json's added_tokens, with its fields
// in the order Hugging Face writes them.
type AddedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// Trimmed is the result of Trim.
type Trimmed struct {
	Vocab  []string    // new id → model token (byte-level form); added tokens follow
	Merges [][2]string // kept merges, in their original rank order
	Added  []AddedToken
	// OldToNew maps every source id (model and added) to its new id, -1 when
	// dropped; NewToOld is its inverse over the kept ids.
	OldToNew []int32
	NewToOld []int32
	Stats    Stats
}

// Stats describes a trim.
type Stats struct {
	SourceIDs   int `json:"source_ids"` // model + added tokens of the source
	SourceMerge int `json:"source_merges"`
	Used        int `json:"used"`          // distinct model tokens in the corpus's encoding
	Rare        int `json:"rare_dropped"`  // of those, seen fewer than MinCount times
	Closure     int `json:"closure_added"` // kept only as parts of kept merges
	ModelTokens int `json:"model_tokens"`  // kept model tokens (bytes included)
	Merges      int `json:"merges"`
	IDs         int `json:"ids"` // the trimmed vocabulary size: model + added tokens
	MinCount    int `json:"min_count"`
}

// Trim keeps the tokens whose count (indexed by source id) is at least
// minCount, plus the byte tokens, the added tokens and the closure under
// merges. minCount below 1 counts as 1.
func Trim(src *Source, counts []int64, minCount int) (*Trimmed, error) {
	minCount = max(minCount, 1)
	nModel := int32(0)
	byID := map[int32]string{}
	for tok, id := range src.Vocab {
		if prev, dup := byID[id]; dup {
			return nil, fmt.Errorf("vocab: id %d is given to both %q and %q", id, prev, tok)
		}
		byID[id] = tok
		nModel = max(nModel, id+1)
	}
	if int(nModel) != len(src.Vocab) {
		return nil, fmt.Errorf("vocab: model ids are not contiguous (%d tokens, largest id %d)", len(src.Vocab), nModel-1)
	}
	nIDs := int(nModel)
	for i, a := range src.Added {
		if a.ID < nModel {
			return nil, fmt.Errorf("vocab: added_tokens[%d] %q: id %d overlaps the model vocabulary (%d tokens); only added tokens after the vocabulary are supported", i, a.Content, a.ID, nModel)
		}
		nIDs = max(nIDs, int(a.ID)+1)
	}
	if len(counts) > nIDs {
		return nil, fmt.Errorf("vocab: counts cover %d ids but the tokenizer has %d", len(counts), nIDs)
	}

	keep := make([]bool, nModel)
	st := Stats{SourceIDs: nIDs, SourceMerge: len(src.Merges), MinCount: minCount}
	for id := int32(0); id < nModel && int(id) < len(counts); id++ {
		if counts[id] > 0 {
			st.Used++
			if counts[id] >= int64(minCount) {
				keep[id] = true
			} else {
				st.Rare++
			}
		}
	}
	for b := 0; b < 256; b++ {
		id, ok := src.Vocab[string(byteToRune(byte(b)))]
		if !ok {
			return nil, fmt.Errorf("vocab: the source has no token for byte 0x%02X", b)
		}
		if !keep[id] {
			keep[id] = true
			st.Closure++ // a byte the corpus never used alone
		}
	}

	// The closure: walk merges from the highest rank down, since a merge's
	// parts are built by merges of lower rank than its own in any BPE
	// vocabulary trained the usual way; repeat until nothing changes so that
	// the result does not depend on that.
	type merge struct{ a, b, ab int32 }
	ms := make([]merge, len(src.Merges))
	for r, m := range src.Merges {
		a, okA := src.Vocab[m[0]]
		b, okB := src.Vocab[m[1]]
		ab, okAB := src.Vocab[m[0]+m[1]]
		if !okA || !okB || !okAB {
			return nil, fmt.Errorf("vocab: merges[%d] %q %q: token missing from the vocabulary", r, m[0], m[1])
		}
		ms[r] = merge{a, b, ab}
	}
	for changed := true; changed; {
		changed = false
		for r := len(ms) - 1; r >= 0; r-- {
			m := ms[r]
			if !keep[m.ab] {
				continue
			}
			for _, p := range []int32{m.a, m.b} {
				if !keep[p] {
					keep[p] = true
					st.Closure++
					changed = true
				}
			}
		}
	}

	t := &Trimmed{OldToNew: make([]int32, nIDs)}
	for i := range t.OldToNew {
		t.OldToNew[i] = -1
	}
	for id := int32(0); id < nModel; id++ {
		if keep[id] {
			t.OldToNew[id] = int32(len(t.Vocab))
			t.NewToOld = append(t.NewToOld, id)
			t.Vocab = append(t.Vocab, byID[id])
		}
	}
	st.ModelTokens = len(t.Vocab)
	added := append([]AddedToken(nil), src.Added...)
	sort.SliceStable(added, func(i, j int) bool { return added[i].ID < added[j].ID })
	for _, a := range added {
		newID := int32(len(t.NewToOld))
		t.OldToNew[a.ID] = newID
		t.NewToOld = append(t.NewToOld, a.ID)
		a.ID = newID
		t.Added = append(t.Added, a)
	}
	for r, m := range src.Merges {
		ab := keep[ms[r].ab]
		if ab && !(keep[ms[r].a] && keep[ms[r].b]) {
			// Cannot happen after the closure; checked because the loader
			// rejects a merge whose parts are missing.
			return nil, fmt.Errorf("vocab: merges[%d] %q %q: result kept without its parts", r, m[0], m[1])
		}
		if ab {
			t.Merges = append(t.Merges, m)
		}
	}
	st.Merges = len(t.Merges)
	st.IDs = len(t.NewToOld)
	t.Stats = st
	return t, nil
}

// byteToRune is GPT-2's byte-level alphabet: printable bytes map to
// themselves, the others to U+0100 onwards, in byte order.
func byteToRune(b byte) rune {
	if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE {
		return rune(b)
	}
	n := 0
	for c := 0; c < int(b); c++ {
		cb := byte(c)
		if !((cb >= '!' && cb <= '~') || (cb >= 0xA1 && cb <= 0xAC) || cb >= 0xAE) {
			n++
		}
	}
	return rune(256 + n)
}
