package qwen2

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"slices"
)

// Sampling chooses the next token from logits, applying transformers' logits
// processors in generate()'s order: repetition penalty, temperature, top-k,
// top-p, then a draw from the softmax (or the argmax when greedy).
type Sampling struct {
	Temperature       float64 // <= 0: greedy
	TopK              int     // 0: off
	TopP              float64 // 0 or >= 1: off
	RepetitionPenalty float64 // 0 or 1: off; >1 discourages tokens already in the sequence
	Seed              uint64
}

// Sampler is one sequence's sampling state: its own random stream, so that a
// sequence's tokens do not depend on what else shares its batch.
type Sampler struct {
	Sampling
	rng *rand.Rand
}

// NewSampler starts stream number stream of the seeded generator.
func NewSampler(sp Sampling, stream uint64) *Sampler {
	return &Sampler{Sampling: sp, rng: rand.New(rand.NewPCG(sp.Seed, stream))}
}

// Next picks a token from logits [V] (modified in place) given the sequence so
// far (prompt and generated tokens).
func (sm *Sampler) Next(logits []float32, history []int64) int64 {
	if p := sm.RepetitionPenalty; p > 0 && p != 1 {
		seen := make(map[int64]bool, len(history))
		for _, id := range history {
			if id < 0 || id >= int64(len(logits)) || seen[id] {
				continue
			}
			seen[id] = true
			if logits[id] < 0 {
				logits[id] *= float32(p)
			} else {
				logits[id] /= float32(p)
			}
		}
	}
	if sm.Temperature <= 0 {
		return argmax(logits)
	}
	if sm.Temperature != 1 {
		for i := range logits {
			logits[i] /= float32(sm.Temperature)
		}
	}
	negInf := float32(math.Inf(-1))
	if k := sm.TopK; k > 0 && k < len(logits) {
		kth := kthLargest(logits, k)
		for i, v := range logits {
			if v < kth {
				logits[i] = negInf
			}
		}
	}
	probs := softmax(logits)
	if p := sm.TopP; p > 0 && p < 1 {
		nucleus(probs, p)
	}
	total := 0.0
	for _, q := range probs {
		total += q
	}
	u := sm.rng.Float64() * total
	last := int64(0)
	for i, q := range probs {
		if q == 0 {
			continue
		}
		last = int64(i)
		if u < q {
			return int64(i)
		}
		u -= q
	}
	return last
}

// argmax returns the first index of the largest value, as torch.argmax does.
func argmax(x []float32) int64 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int64(best)
}

type minHeap []float32

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(float32)) }
func (h *minHeap) Pop() any          { o := *h; v := o[len(o)-1]; *h = o[:len(o)-1]; return v }

// kthLargest is the k-th largest value; transformers keeps every logit >= it.
func kthLargest(x []float32, k int) float32 {
	h := make(minHeap, 0, k)
	for _, v := range x {
		if len(h) < k {
			heap.Push(&h, v)
		} else if v > h[0] {
			h[0] = v
			heap.Fix(&h, 0)
		}
	}
	return h[0]
}

func softmax(logits []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	p := make([]float64, len(logits))
	sum := 0.0
	for i, v := range logits {
		p[i] = math.Exp(float64(v) - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// nucleus zeroes every token outside the smallest most-probable set whose mass
// reaches topP (transformers' TopPLogitsWarper; the top token always stays).
// Only tokens above a threshold are sorted: lowering it until they hold topP of
// the mass keeps this cheap on a 150k vocabulary.
func nucleus(p []float64, topP float64) {
	var idx []int
	for th := 1 / float64(len(p)); ; th /= 16 {
		idx = idx[:0]
		mass := 0.0
		for i, q := range p {
			if q >= th {
				idx = append(idx, i)
				mass += q
			}
		}
		if mass >= topP || th == 0 {
			break
		}
		if th < 1e-300 {
			th = 0
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return 0
	})
	keep := make([]bool, len(p))
	mass := 0.0
	for _, i := range idx {
		if mass >= topP {
			break
		}
		keep[i] = true
		mass += p[i]
	}
	for i := range p {
		if !keep[i] {
			p[i] = 0
		}
	}
}
