package qwen2

import (
	"errors"

	"medqa/trainer/torch"
)

var (
	errBackwardTwice = errors.New("qwen2: Checkpointed.Backward called twice")
	errNoGradient    = errors.New("qwen2: Checkpointed.Backward: no gradient reached the last layer's output (run backward from a loss over the hidden states first)")
)

// Checkpointed is a training pass with activation (gradient) checkpointing:
// the forward keeps only each decoder layer's input, and Backward recomputes
// the layers one at a time, last first, to carry the gradient down. A step at
// T=512 then holds one layer's activations instead of all 24 (about 100 MB
// each for the Qwen2.5-0.5B shape in float32), for one more forward pass of
// compute. What it computes is what Hidden's graph computes: every layer runs
// the same code with autograd on (so the same kernels), and each layer's
// dropout masks are drawn again from the generator state saved before it.
type Checkpointed struct {
	m    *Model
	st   *stack
	s    *torch.Scope
	x0   *torch.Tensor   // the embedding output, with its graph (full training trains the embedding)
	xs   []*torch.Tensor // the input of each layer and the last layer's output, detached
	rng  [][]byte        // the generator state before each layer (nil: no dropout to redraw)
	done bool
}

// HiddenCheckpointed is Hidden for a training step (see Checkpointed). The
// graph of the hidden states it returns reaches back only to the last
// layer's output; once the caller has run backward from a loss over them,
// Backward sends the gradient through the decoder layers.
func (m *Model) HiddenCheckpointed(s *torch.Scope, ids, attn *torch.Tensor) (*torch.Tensor, *Checkpointed, error) {
	pos, mask := m.positions(s, ids, attn)
	c := &Checkpointed{m: m, st: m.newStack(s, ids, pos, ids.Size(1), mask, nil), s: s}
	c.x0 = m.embed(s, ids)
	x := c.x0.Detach(s)
	for i := range m.Layers {
		if m.Train {
			state, err := torch.RNGState(m.Device)
			if err != nil {
				return nil, nil, err
			}
			c.rng = append(c.rng, state)
		}
		c.xs = append(c.xs, x)
		x = c.run(i, x, nil)
	}
	c.xs = append(c.xs, x.SetRequiresGrad(true))
	return m.rmsNorm(s, x, m.Norm, c.st.fused), c, nil
}

// run applies layer i to x and returns its output detached. With a gradient
// g of the output, it backpropagates sum(output·g) instead (accumulating into
// the trained tensors and into x's grad) and returns nil. The layer's graph
// dies with its scope either way.
func (c *Checkpointed) run(i int, x, g *torch.Tensor) *torch.Tensor {
	ls := torch.NewScope()
	defer ls.Close()
	y := c.st.layer(ls, i, x)
	if g == nil {
		return y.Detach(c.s)
	}
	y.Mul(ls, g).Sum(ls).Backward()
	return nil
}

// Backward recomputes the layers from the last to the first, each with the
// generator state its forward saw, and carries the gradient of the last
// layer's output (left there by the caller's backward) down to the embedding.
func (c *Checkpointed) Backward() error {
	if c.done {
		return errBackwardTwice
	}
	c.done = true
	L := len(c.m.Layers)
	g := c.xs[L].Grad(c.s)
	if g == nil {
		return errNoGradient
	}
	for i := L - 1; i >= 0; i-- {
		if c.rng != nil {
			if err := torch.SetRNGState(c.m.Device, c.rng[i]); err != nil {
				return err
			}
		}
		x := c.xs[i].SetRequiresGrad(true)
		c.run(i, x, g)
		if g = x.Grad(c.s); g == nil {
			return errNoGradient
		}
	}
	if c.x0.RequiresGrad() {
		c.x0.Mul(c.s, g).Sum(c.s).Backward()
	}
	return nil
}
