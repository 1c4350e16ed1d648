package metrics

import "math/bits"

// ngramCounter does the n-gram bookkeeping nmt's compute_bleu and sacreBLEU
// share: each distinct prediction n-gram counts at most as often as it
// occurs in the reference that holds it most often (Counter | then Counter &).
//
// Tokens are interned to 16-bit ids and every n-gram of order 1 to 4 packed
// into one uint64 (unused slots zero) and counted in an open-addressing
// table. A pair with 65,535 or more distinct tokens falls back to maps.
type ngramCounter struct {
	vocab    map[string]uint64
	ids      []uint64
	table    keyTable
	fallback *mapCounter
}

// ngramMaxVocab is the most distinct tokens a pair may have for 16-bit ids
// (a variable so that a test can force the map fallback).
var ngramMaxVocab = 0xFFFF

func newNgramCounter() *ngramCounter {
	return &ngramCounter{vocab: map[string]uint64{}}
}

// clip returns, per order, the clipped matches of pred against refs.
func (c *ngramCounter) clip(pred []string, refs [][]string) [BLEUMaxOrder]int {
	clear(c.vocab)
	for _, t := range pred {
		c.intern(t)
	}
	for _, r := range refs {
		for _, t := range r {
			c.intern(t)
		}
	}
	if len(c.vocab) > ngramMaxVocab {
		if c.fallback == nil {
			c.fallback = newMapCounter()
		}
		return c.fallback.clip(pred, refs)
	}
	t := &c.table
	t.reset(len(pred) * BLEUMaxOrder)
	c.eachNgram(pred, func(k uint64) { t.count[t.insert(k)]++ })
	for _, r := range refs {
		c.eachNgram(r, t.countOther)
		t.foldOther()
	}
	var m [BLEUMaxOrder]int
	for _, slot := range t.used {
		order := BLEUMaxOrder - bits.TrailingZeros64(t.keys[slot])/16
		m[order-1] += int(min(t.count[slot], t.best[slot]))
	}
	return m
}

func (c *ngramCounter) intern(t string) {
	if _, ok := c.vocab[t]; !ok {
		c.vocab[t] = uint64(len(c.vocab) + 1)
	}
}

// eachNgram calls f with every packed n-gram of tokens, orders 1 to 4.
func (c *ngramCounter) eachNgram(tokens []string, f func(uint64)) {
	c.ids = c.ids[:0]
	for _, t := range tokens {
		c.ids = append(c.ids, c.vocab[t])
	}
	for i := range c.ids {
		var k uint64
		for n := 0; n < BLEUMaxOrder && i+n < len(c.ids); n++ {
			k |= c.ids[i+n] << (48 - 16*n)
			f(k)
		}
	}
}

// keyTable is an open-addressing hash table of nonzero uint64 keys with
// linear probing: the keys of one side (count) and, for each other side in
// turn, how often they occur there (other), folded into a maximum (best).
type keyTable struct {
	keys               []uint64
	count, other, best []int32
	used, touched      []int32 // slots holding keys; slots with other > 0
	shift              uint
}

// reset empties the table and sizes it for up to n keys.
func (t *keyTable) reset(n int) {
	size, shift := 16, uint(60)
	for size < 2*n {
		size *= 2
		shift--
	}
	for _, s := range t.used {
		t.keys[s], t.count[s], t.best[s] = 0, 0, 0
	}
	if cap(t.keys) < size {
		t.keys = make([]uint64, size)
		t.count, t.other, t.best = make([]int32, size), make([]int32, size), make([]int32, size)
	}
	t.keys, t.count, t.other, t.best = t.keys[:size], t.count[:size], t.other[:size], t.best[:size]
	t.used, t.touched, t.shift = t.used[:0], t.touched[:0], shift
}

func (t *keyTable) slot(k uint64) int {
	return int((k * 0x9E3779B97F4A7C15) >> t.shift)
}

func (t *keyTable) insert(k uint64) int {
	mask := len(t.keys) - 1
	for s := t.slot(k); ; s = (s + 1) & mask {
		switch t.keys[s] {
		case k:
			return s
		case 0:
			t.keys[s] = k
			t.used = append(t.used, int32(s))
			return s
		}
	}
}

// countOther counts k on the other side if the table holds it.
func (t *keyTable) countOther(k uint64) {
	mask := len(t.keys) - 1
	for s := t.slot(k); ; s = (s + 1) & mask {
		switch t.keys[s] {
		case k:
			if t.other[s] == 0 {
				t.touched = append(t.touched, int32(s))
			}
			t.other[s]++
			return
		case 0:
			return
		}
	}
}

// foldOther keeps the maximum of the other side's counts and clears them.
func (t *keyTable) foldOther() {
	for _, s := range t.touched {
		t.best[s] = max(t.best[s], t.other[s])
		t.other[s] = 0
	}
	t.touched = t.touched[:0]
}

// mapCounter is the straightforward Counter version, for huge vocabularies.
type mapCounter struct {
	vocab map[string]int32
	ref   map[[BLEUMaxOrder]int32]int
	one   map[[BLEUMaxOrder]int32]int
}

func newMapCounter() *mapCounter {
	return &mapCounter{vocab: map[string]int32{}, ref: map[[BLEUMaxOrder]int32]int{}, one: map[[BLEUMaxOrder]int32]int{}}
}

func (c *mapCounter) count(tokens []string) map[[BLEUMaxOrder]int32]int {
	clear(c.one)
	ids := make([]int32, len(tokens))
	for i, t := range tokens {
		id, ok := c.vocab[t]
		if !ok {
			id = int32(len(c.vocab))
			c.vocab[t] = id
		}
		ids[i] = id
	}
	for i := range ids {
		k := [BLEUMaxOrder]int32{-1, -1, -1, -1}
		for n := 0; n < BLEUMaxOrder && i+n < len(ids); n++ {
			k[n] = ids[i+n]
			c.one[k]++
		}
	}
	return c.one
}

func (c *mapCounter) clip(pred []string, refs [][]string) [BLEUMaxOrder]int {
	clear(c.vocab)
	clear(c.ref)
	for _, r := range refs {
		for k, v := range c.count(r) {
			c.ref[k] = max(c.ref[k], v)
		}
	}
	var m [BLEUMaxOrder]int
	for k, v := range c.count(pred) {
		n := 0
		for n < BLEUMaxOrder && k[n] >= 0 {
			n++
		}
		m[n-1] += min(v, c.ref[k])
	}
	return m
}
