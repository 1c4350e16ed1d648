package tokenizer

import (
	"container/heap"
	"hash/maphash"
	"math"
	"strings"
	"sync/atomic"
)

// smallWord is the length up to which bpeWord rescans all pairs after each
// merge; longer words use a heap so that a megabyte-long run of letters is
// not quadratic.
const smallWord = 48

// bpeWord appends the BPE tokens of one pre-token (raw bytes) to dst. Merges
// are applied lowest rank first, ties going to the leftmost pair: the order
// of both tokenizers' and transformers.js's priority queues.
func (t *Tokenizer) bpeWord(dst []int32, word string) []int32 {
	if len(word) > smallWord {
		return t.bpeLong(dst, word)
	}
	var buf [smallWord]int32
	syms := buf[:len(word)]
	for i := 0; i < len(word); i++ {
		syms[i] = t.byteID[word[i]]
	}
	for len(syms) > 1 {
		best, bestAt, bestID := int32(math.MaxInt32), -1, int32(0)
		for i := 0; i+1 < len(syms); i++ {
			if r, id, ok := t.merges.get(syms[i], syms[i+1]); ok && r < best {
				best, bestAt, bestID = r, i, id
			}
		}
		if bestAt < 0 {
			break
		}
		syms[bestAt] = bestID
		syms = append(syms[:bestAt+1], syms[bestAt+2:]...)
	}
	return append(dst, syms...)
}

// bpeLong is bpeWord for long words: symbols in a linked list, candidate
// merges in a heap, stale candidates dropped when popped.
func (t *Tokenizer) bpeLong(dst []int32, word string) []int32 {
	n := len(word)
	id := make([]int32, n)
	next := make([]int32, n)
	prev := make([]int32, n)
	for i := 0; i < n; i++ {
		id[i], next[i], prev[i] = t.byteID[word[i]], int32(i+1), int32(i-1)
	}
	next[n-1] = -1
	h := &mergeHeap{}
	push := func(i int32) {
		if i < 0 || next[i] < 0 {
			return
		}
		j := next[i]
		if r, m, ok := t.merges.get(id[i], id[j]); ok {
			heap.Push(h, candidate{rank: r, pos: i, left: id[i], right: id[j], merged: m})
		}
	}
	for i := int32(0); i+1 < int32(n); i++ {
		push(i)
	}
	for h.Len() > 0 {
		c := heap.Pop(h).(candidate)
		j := next[c.pos]
		if id[c.pos] != c.left || j < 0 || id[j] != c.right {
			continue // a neighbour was merged since this candidate was queued
		}
		id[c.pos] = c.merged
		id[j] = -1
		next[c.pos] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = c.pos
		}
		push(prev[c.pos])
		push(c.pos)
	}
	for i := int32(0); i >= 0; i = next[i] {
		dst = append(dst, id[i])
	}
	return dst
}

type candidate struct{ rank, pos, left, right, merged int32 }

type mergeHeap []candidate

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(a, b int) bool {
	return h[a].rank < h[b].rank || (h[a].rank == h[b].rank && h[a].pos < h[b].pos)
}
func (h mergeHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *mergeHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// wordCache remembers the BPE of words seen before; natural text repeats
// words so much that most words are a single lookup. It is a fixed-size,
// two-way hash table of atomic pointers: no lock, bounded memory, and a
// collision merely evicts a word, which costs one BPE run if it recurs.
type wordCache struct {
	seed    maphash.Seed
	entries []atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	word string
	ids  []int32
}

const (
	cacheSlots   = 1 << 16 // about 5 MB when full
	cacheMaxWord = 64      // longer words are rare and would pin memory
)

func newWordCache() wordCache {
	return wordCache{seed: maphash.MakeSeed(), entries: make([]atomic.Pointer[cacheEntry], cacheSlots)}
}

// slots returns the two places a word may live.
func (c *wordCache) slots(w string) (uint64, uint64) {
	h := maphash.String(c.seed, w)
	return h & (cacheSlots - 1), (h >> 32) & (cacheSlots - 1)
}

func (c *wordCache) get(w string) ([]int32, bool) {
	a, b := c.slots(w)
	if e := c.entries[a].Load(); e != nil && e.word == w {
		return e.ids, true
	}
	if e := c.entries[b].Load(); e != nil && e.word == w {
		return e.ids, true
	}
	return nil, false
}

func (c *wordCache) put(w string, ids []int32) {
	a, b := c.slots(w)
	e := &cacheEntry{word: w, ids: ids}
	if c.entries[a].Load() != nil && c.entries[b].Load() == nil {
		a = b
	}
	c.entries[a].Store(e)
}

// appendWord appends the tokens of one pre-token, through the cache.
func (t *Tokenizer) appendWord(dst []int32, w string) []int32 {
	switch {
	case len(w) == 1:
		return append(dst, t.byteID[w[0]])
	case t.ignoreMerges:
		if id, ok := t.vocabMap()[byteLevel([]byte(w))]; ok {
			return append(dst, id)
		}
	}
	if len(w) > cacheMaxWord {
		return t.bpeWord(dst, w)
	}
	if ids, ok := t.cache.get(w); ok {
		return append(dst, ids...)
	}
	n := len(dst)
	dst = t.bpeWord(dst, w)
	// Clone: w points into the caller's text, which the cache must not pin.
	t.cache.put(strings.Clone(w), append([]int32(nil), dst[n:]...))
	return dst
}
