package metrics

// ngramCounter does the n-gram bookkeeping nmt's compute_bleu and sacreBLEU
// share: the references' counts merged by elementwise maximum (Counter |=),
// then the prediction's counts clipped by them (Counter &).
type ngramCounter struct {
	vocab map[string]int32
	ref   map[ngram]int32 // merged over the references of one pair
	one   map[ngram]int32 // one reference or the prediction
	ids   []int32
}

// ngram holds up to BLEUMaxOrder token ids; unused slots are -1.
type ngram [BLEUMaxOrder]int32

func newNgramCounter() *ngramCounter {
	return &ngramCounter{vocab: map[string]int32{}, ref: map[ngram]int32{}, one: map[ngram]int32{}}
}

func (c *ngramCounter) reset() {
	clear(c.ref)
	if len(c.vocab) > 1<<16 {
		clear(c.vocab) // ids only need to be consistent within a pair
	}
}

func (c *ngramCounter) count(tokens []string) map[ngram]int32 {
	clear(c.one)
	c.ids = c.ids[:0]
	for _, t := range tokens {
		id, ok := c.vocab[t]
		if !ok {
			id = int32(len(c.vocab))
			c.vocab[t] = id
		}
		c.ids = append(c.ids, id)
	}
	for i := range c.ids {
		k := ngram{-1, -1, -1, -1}
		for n := 0; n < BLEUMaxOrder && i+n < len(c.ids); n++ {
			k[n] = c.ids[i+n]
			c.one[k]++
		}
	}
	return c.one
}

func (c *ngramCounter) addRef(tokens []string) {
	for k, v := range c.count(tokens) {
		if v > c.ref[k] {
			c.ref[k] = v
		}
	}
}

// match returns, per order, the prediction's n-grams clipped by the merged
// reference counts.
func (c *ngramCounter) match(pred []string) [BLEUMaxOrder]int {
	var m [BLEUMaxOrder]int
	for k, v := range c.count(pred) {
		if r := c.ref[k]; r > 0 {
			n := 0
			for n < BLEUMaxOrder && k[n] >= 0 {
				n++
			}
			m[n-1] += int(min(v, r))
		}
	}
	return m
}
