package torch

/*
#include "shim/shim.h"
*/
import "C"

import (
	"fmt"
	"slices"
)

// AdamW is torch.optim.AdamW (decoupled weight decay, bias correction, no amsgrad).
// Its state (per parameter: step, exp_avg, exp_avg_sq) can be read and restored
// exactly, so a resumed run continues bit for bit.
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64

	names  []string
	params []*Tensor
	state  []AdamWState
}

// AdamWState is one parameter's optimizer state; the tensors are owned by the optimizer.
type AdamWState struct {
	Name             string
	Step             int64
	ExpAvg, ExpAvgSq *Tensor // nil until the first step
}

// NewAdamW optimizes params (leaf tensors with requires_grad), named for state
// files, with PyTorch's defaults for betas (0.9, 0.999) and eps 1e-8.
func NewAdamW(names []string, params []*Tensor, lr, weightDecay float64) *AdamW {
	if len(names) != len(params) {
		panic(&Error{Msg: fmt.Sprintf("NewAdamW: %d names for %d parameters", len(names), len(params))})
	}
	o := &AdamW{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay,
		names: names, params: params, state: make([]AdamWState, len(params))}
	for i, n := range names {
		o.state[i].Name = n
	}
	return o
}

// Step updates every parameter that has a gradient, as optimizer.step() does.
func (o *AdamW) Step() {
	for i, p := range o.params {
		g := p.Grad(nil)
		if g == nil {
			continue
		}
		st := &o.state[i]
		if st.ExpAvg == nil {
			st.ExpAvg = Zeros(nil, p.Shape(), p.DType(), p.Device())
			st.ExpAvgSq = Zeros(nil, p.Shape(), p.DType(), p.Device())
		}
		st.Step++
		err := take(C.tt_adamw_step(p.handle(), g.handle(), st.ExpAvg.handle(), st.ExpAvgSq.handle(),
			C.int64_t(st.Step), C.double(o.LR), C.double(o.Beta1), C.double(o.Beta2), C.double(o.Eps),
			C.double(o.WeightDecay)))
		g.Close()
		if err != nil {
			panic(&Error{Msg: fmt.Sprintf("AdamW step of %s: %v", st.Name, err)})
		}
	}
}

// ZeroGrad drops every parameter's gradient.
func (o *AdamW) ZeroGrad() {
	for _, p := range o.params {
		p.ZeroGrad()
	}
}

// State returns the optimizer state in parameter order (tensors still owned by o).
func (o *AdamW) State() []AdamWState { return o.state }

// LoadState replaces the state with copies of st, matched by name; every entry
// must name a parameter of o with the parameter's shape.
func (o *AdamW) LoadState(st []AdamWState) error {
	idx := make(map[string]int, len(o.names))
	for i, n := range o.names {
		idx[n] = i
	}
	fresh := make([]AdamWState, len(o.state))
	for i, n := range o.names {
		fresh[i].Name = n
	}
	for _, e := range st {
		i, ok := idx[e.Name]
		if !ok {
			return fmt.Errorf("optimizer state for unknown parameter %q", e.Name)
		}
		if (e.ExpAvg == nil) != (e.ExpAvgSq == nil) {
			return fmt.Errorf("optimizer state for %q: exp_avg and exp_avg_sq must both be present", e.Name)
		}
		fresh[i].Step = e.Step
		if e.ExpAvg != nil {
			want := o.params[i].Shape()
			if !slices.Equal(e.ExpAvg.Shape(), want) || !slices.Equal(e.ExpAvgSq.Shape(), want) {
				return fmt.Errorf("optimizer state for %q: shape %v, parameter has %v", e.Name, e.ExpAvg.Shape(), want)
			}
			p := o.params[i]
			if err := Do(func() {
				fresh[i].ExpAvg = e.ExpAvg.To(nil, p.DType(), p.Device())
				fresh[i].ExpAvgSq = e.ExpAvgSq.To(nil, p.DType(), p.Device())
			}); err != nil {
				return fmt.Errorf("optimizer state for %q: %w", e.Name, err)
			}
		}
	}
	o.Close()
	o.state = fresh
	return nil
}

// Close frees the optimizer's state tensors (not the parameters).
func (o *AdamW) Close() {
	for i := range o.state {
		o.state[i].ExpAvg.Close()
		o.state[i].ExpAvgSq.Close()
	}
}
