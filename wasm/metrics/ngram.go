package metrics

import (
	"math/bits"
	"slices"
)

// ngramCounter does the n-gram bookkeeping nmt's compute_bleu and sacreBLEU
// share: each distinct prediction n-gram counts at most as often as it
// occurs in the reference that holds it most often (Counter | then Counter &).
//
// Tokens are interned to 16-bit ids and every n-gram of order 1 to 4 packed
// into one uint64 (unused slots zero), so counting is sorting and merging
// integer slices. A pair with 65,535 or more distinct tokens falls back to
// maps.
type ngramCounter struct {
	vocab    map[string]uint64
	pred     []uint64
	ref      []uint64
	runs     []ngramRun
	ids      []uint64
	fallback *mapCounter
}

// ngramMaxVocab is the most distinct tokens a pair may have for 16-bit ids
// (a variable so that a test can force the map fallback).
var ngramMaxVocab = 0xFFFF

type ngramRun struct {
	key         uint64
	count, best int
}

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
	c.pred = c.keys(c.pred[:0], pred)
	c.runs = c.runs[:0]
	for i := 0; i < len(c.pred); {
		j := i + 1
		for j < len(c.pred) && c.pred[j] == c.pred[i] {
			j++
		}
		c.runs = append(c.runs, ngramRun{key: c.pred[i], count: j - i})
		i = j
	}
	for _, r := range refs {
		c.ref = c.keys(c.ref[:0], r)
		j := 0
		for k := range c.runs {
			run := &c.runs[k]
			for j < len(c.ref) && c.ref[j] < run.key {
				j++
			}
			n := 0
			for j < len(c.ref) && c.ref[j] == run.key {
				j++
				n++
			}
			run.best = max(run.best, n)
		}
	}
	var m [BLEUMaxOrder]int
	for _, run := range c.runs {
		order := BLEUMaxOrder - bits.TrailingZeros64(run.key)/16
		m[order-1] += min(run.count, run.best)
	}
	return m
}

func (c *ngramCounter) intern(t string) {
	if _, ok := c.vocab[t]; !ok {
		c.vocab[t] = uint64(len(c.vocab) + 1)
	}
}

// keys appends the sorted packed n-grams of tokens to dst.
func (c *ngramCounter) keys(dst []uint64, tokens []string) []uint64 {
	c.ids = c.ids[:0]
	for _, t := range tokens {
		c.ids = append(c.ids, c.vocab[t])
	}
	for i := range c.ids {
		var k uint64
		for n := 0; n < BLEUMaxOrder && i+n < len(c.ids); n++ {
			k |= c.ids[i+n] << (48 - 16*n)
			dst = append(dst, k)
		}
	}
	slices.Sort(dst)
	return dst
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
