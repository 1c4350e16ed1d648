package sft

import (
	"math/rand/v2"
	"slices"

	"medqa/trainer/data"
)

// batch is B padded sequences of length T, row-major, right-padded.
type batch struct {
	B, T   int
	ids    []int64 // padding uses id 0
	attn   []int64 // 1 token, 0 padding
	labels []int64 // ignoreIndex where not learned or padding
	// tokens counts real tokens; targets counts learned next-token predictions
	// (labels[t+1] for t < T-1), the denominator of the mean loss.
	tokens, targets int
}

func makeBatch(exs []data.Example, idx []int) batch {
	T := 0
	for _, i := range idx {
		T = max(T, len(exs[i].InputIDs))
	}
	b := batch{B: len(idx), T: T, ids: make([]int64, len(idx)*T), attn: make([]int64, len(idx)*T), labels: make([]int64, len(idx)*T)}
	for r, i := range idx {
		ex := exs[i]
		row := r * T
		for t := range T {
			b.labels[row+t] = ignoreIndex
			if t < len(ex.InputIDs) {
				b.ids[row+t], b.attn[row+t], b.labels[row+t] = int64(ex.InputIDs[t]), int64(ex.AttentionMask[t]), int64(ex.Labels[t])
				b.tokens += int(ex.AttentionMask[t])
			}
		}
		for t := 1; t < T; t++ {
			if b.labels[row+t] != ignoreIndex {
				b.targets++
			}
		}
	}
	return b
}

// megabatch is how many batches' worth of examples are sorted by length
// together (transformers' LengthGroupedSampler uses 50): batches are nearly
// uniform in length, so padding is small, while the order stays random.
const megabatch = 50

// epochOrder returns epoch e's batches as example indices: a permutation
// drawn from PCG(seed, e), cut into megabatches that are sorted by length
// (longest first) and split into batches, whose order is then shuffled. It
// depends only on (seed, e), which is what lets a resumed run rebuild it.
func epochOrder(lengths []int, batchSize int, groupByLength bool, seed uint64, epoch int) [][]int {
	r := rand.New(rand.NewPCG(seed, uint64(epoch)))
	perm := r.Perm(len(lengths))
	if groupByLength {
		for lo := 0; lo < len(perm); lo += megabatch * batchSize {
			mb := perm[lo:min(lo+megabatch*batchSize, len(perm))]
			slices.SortStableFunc(mb, func(a, b int) int { return lengths[b] - lengths[a] })
		}
	}
	var out [][]int
	for lo := 0; lo < len(perm); lo += batchSize {
		out = append(out, perm[lo:min(lo+batchSize, len(perm))])
	}
	if groupByLength {
		r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	return out
}

// pack concatenates consecutive examples (in a seeded order) into sequences of
// at most maxLen tokens, as TRL's constant-length packing does: packed
// examples share one causal context, so later ones attend to earlier ones
// and positions run on. Labels keep each example's masking.
func pack(exs []data.Example, maxLen int, seed uint64) []data.Example {
	order := rand.New(rand.NewPCG(seed, 1<<63)).Perm(len(exs))
	var out []data.Example
	var cur data.Example
	for _, i := range order {
		ex := exs[i]
		if len(cur.InputIDs) > 0 && len(cur.InputIDs)+len(ex.InputIDs) > maxLen {
			out = append(out, cur)
			cur = data.Example{}
		}
		cur.InputIDs = append(cur.InputIDs, ex.InputIDs...)
		cur.AttentionMask = append(cur.AttentionMask, ex.AttentionMask...)
		cur.Labels = append(cur.Labels, ex.Labels...)
	}
	if len(cur.InputIDs) > 0 {
		out = append(out, cur)
	}
	return out
}

// ignoreIndex marks labels that are not learned (data.Example's -100, the
// ignore index of PyTorch's cross entropy).
const ignoreIndex = -100

// defaultMaxLength is data.EncodeOptions' default: 512 tokens.
const defaultMaxLength = 512
