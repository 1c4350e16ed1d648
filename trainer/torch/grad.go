package torch

/*
#include "shim/shim.h"
*/
import "C"

import (
	"fmt"
	"math"
)

// RNGState returns the state of dev's default generator (dropout, Randn,
// Multinomial draw from it); checkpoints save it so a resumed run draws the same.
func RNGState(dev Device) (state []byte, err error) {
	defer Recover(&err)
	var h C.tt
	must(C.tt_rng_state(C.int(dev), &h))
	t := newTensor(nil, h)
	defer t.Close()
	return t.Bytes(), nil
}

// SetRNGState restores a state saved by RNGState.
func SetRNGState(dev Device, state []byte) (err error) {
	defer Recover(&err)
	t := FromBytes(nil, state, Uint8, []int64{int64(len(state))}, CPU)
	defer t.Close()
	if e := take(C.tt_set_rng_state(C.int(dev), t.handle())); e != nil {
		return fmt.Errorf("restoring the %v generator: %w", dev, e)
	}
	return nil
}

// ClipGradNorm scales the gradients of params in place so that their joint L2
// norm is at most maxNorm (torch.nn.utils.clip_grad_norm_) and returns the norm
// before clipping. Parameters without a gradient are skipped.
func ClipGradNorm(params []*Tensor, maxNorm float64) (total float64, err error) {
	defer Recover(&err)
	s := NewScope()
	defer s.Close()
	var grads []*Tensor
	sum := 0.0
	for _, p := range params {
		g := p.Grad(s)
		if g == nil {
			continue
		}
		grads = append(grads, g)
		sum += g.ToDType(s, Float64).PowScalar(s, 2).Sum(s).Item()
	}
	total = math.Sqrt(sum)
	if coef := maxNorm / (total + 1e-6); coef < 1 {
		for _, g := range grads {
			g.MulScalar_(coef)
		}
	}
	return total, nil
}
