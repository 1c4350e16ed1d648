package qwen2

import (
	"fmt"

	"medqa/trainer/torch"
)

// Cache is one sequence's key/value cache: per layer, keys and values
// [1,KV,Cap,D] of which the first Len positions are filled.
//
// Design: caches are per sequence, so a server can start and finish requests
// independently; Extend runs one forward over several caches of different
// lengths by gathering them into a padded [B,KV,S,D] batch with a mask. The
// gather copies B·S·KV·D values per layer, small next to the weights each step
// reads. Unused capacity is zero, so masked keys are finite.
type Cache struct {
	k, v []*torch.Tensor
	cap  int64
	Len  int64
}

// NewCache returns an empty cache for m.
func (m *Model) NewCache() *Cache {
	return &Cache{k: make([]*torch.Tensor, len(m.Layers)), v: make([]*torch.Tensor, len(m.Layers))}
}

// Close frees the cache's tensors.
func (c *Cache) Close() {
	for i := range c.k {
		c.k[i].Close()
		c.v[i].Close()
		c.k[i], c.v[i] = nil, nil
	}
	c.cap, c.Len = 0, 0
}

// reserve makes room for n positions, keeping the filled ones.
func (c *Cache) reserve(m *Model, n int64) {
	if n <= c.cap {
		return
	}
	newCap := max(n, 2*c.cap, 64)
	newCap = (newCap + 63) / 64 * 64
	shape := []int64{1, int64(m.Config.NumKeyValueHeads), newCap, int64(m.Config.Head())}
	for i := range c.k {
		k := torch.Zeros(nil, shape, m.DType, m.Device)
		v := torch.Zeros(nil, shape, m.DType, m.Device)
		if c.Len > 0 {
			s := torch.NewScope()
			k.Narrow(s, 2, 0, c.Len).Copy_(c.k[i].Narrow(s, 2, 0, c.Len))
			v.Narrow(s, 2, 0, c.Len).Copy_(c.v[i].Narrow(s, 2, 0, c.Len))
			s.Close()
		}
		c.k[i].Close()
		c.v[i].Close()
		c.k[i], c.v[i] = k, v
	}
	c.cap = newCap
}

// Extend appends T tokens to each of B sequences and returns the final hidden
// states [B,T,H] for them: ids is [B,T] (int64 on m.Device), caches[b] holds
// sequence b's past, which may differ in length between sequences. Prefill is
// Extend with the prompt on an empty cache; a batched decode step is Extend
// with T=1 over every active sequence's cache. Callers normally run it under
// torch.NoGrad.
func (m *Model) Extend(s *torch.Scope, caches []*Cache, ids *torch.Tensor) *torch.Tensor {
	B, T := ids.Size(0), ids.Size(1)
	if int64(len(caches)) != B {
		panic(&torch.Error{Msg: fmt.Sprintf("Extend: %d caches for a batch of %d", len(caches), B)})
	}
	past := make([]int64, B)
	S := int64(0)
	for b, c := range caches {
		past[b] = c.Len
		S = max(S, c.Len+T)
	}
	for _, c := range caches {
		c.reserve(m, S)
	}
	ms := torch.NewScope()
	defer ms.Close()
	pos := make([]int64, B*T)
	for b := range past {
		for t := int64(0); t < T; t++ {
			pos[int64(b)*T+t] = past[b] + t
		}
	}
	posT := torch.FromSlice(ms, pos, B, T).To(ms, torch.Int64, m.Device)
	var mask *torch.Tensor
	if B > 1 || T > 1 {
		mask = causalMask(ms, m, past, nil, T, S)
	}
	kv := func(ls *torch.Scope, layer int, k, v *torch.Tensor) (*torch.Tensor, *torch.Tensor) {
		ks, vs := make([]*torch.Tensor, B), make([]*torch.Tensor, B)
		for b, c := range caches {
			c.k[layer].Narrow(ls, 2, past[b], T).Copy_(k.Narrow(ls, 0, int64(b), 1))
			c.v[layer].Narrow(ls, 2, past[b], T).Copy_(v.Narrow(ls, 0, int64(b), 1))
			ks[b], vs[b] = c.k[layer].Narrow(ls, 2, 0, S), c.v[layer].Narrow(ls, 2, 0, S)
		}
		if B == 1 {
			return ks[0], vs[0]
		}
		return torch.Cat(ls, ks, 0), torch.Cat(ls, vs, 0)
	}
	h := m.decode(s, ids, posT, S, mask, kv)
	for _, c := range caches {
		c.Len += T
	}
	return h
}
