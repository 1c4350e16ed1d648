package sft

import (
	"fmt"
	"strings"

	"medqa/trainer/torch"
)

// optimizer is AdamW over two parameter groups, as transformers' Trainer
// builds it: weight decay for weight matrices (embeddings and adapters
// included), none for biases and norm scales, whose decay would only pull
// them towards a meaningless zero.
type optimizer struct {
	groups []*torch.AdamW
}

func noDecay(name string, t *torch.Tensor) bool {
	return t.Dim() < 2 || strings.HasSuffix(name, ".bias") || strings.HasSuffix(name, "norm.weight")
}

func newOptimizer(tr *trainables, c Config) *optimizer {
	var dn, nn []string
	var dp, np []*torch.Tensor
	for _, p := range tr.ps {
		if noDecay(p.name, p.master) {
			nn, np = append(nn, p.name), append(np, p.master)
		} else {
			dn, dp = append(dn, p.name), append(dp, p.master)
		}
	}
	o := &optimizer{}
	for _, g := range []struct {
		names []string
		ps    []*torch.Tensor
		wd    float64
	}{{dn, dp, c.WeightDecay}, {nn, np, 0}} {
		if len(g.ps) == 0 {
			continue
		}
		a := torch.NewAdamW(g.names, g.ps, c.LR, g.wd)
		a.Beta1, a.Beta2, a.Eps = c.Beta1, c.Beta2, c.Eps
		o.groups = append(o.groups, a)
	}
	return o
}

func (o *optimizer) setLR(lr float64) {
	for _, g := range o.groups {
		g.LR = lr
	}
}

func (o *optimizer) step() {
	for _, g := range o.groups {
		g.Step()
		g.ZeroGrad()
	}
}

// State lists every parameter's state (the tensors stay the optimizer's).
func (o *optimizer) State() []torch.AdamWState {
	var out []torch.AdamWState
	for _, g := range o.groups {
		out = append(out, g.State()...)
	}
	return out
}

// LoadState gives each group the entries naming its parameters.
func (o *optimizer) LoadState(st []torch.AdamWState) error {
	byName := map[string]torch.AdamWState{}
	for _, s := range st {
		byName[s.Name] = s
	}
	for _, g := range o.groups {
		var mine []torch.AdamWState
		for _, s := range g.State() {
			e, ok := byName[s.Name]
			if !ok {
				return fmt.Errorf("no optimizer state for %q", s.Name)
			}
			mine = append(mine, e)
			delete(byName, s.Name)
		}
		if err := g.LoadState(mine); err != nil {
			return err
		}
	}
	for name := range byName {
		return fmt.Errorf("optimizer state for unknown parameter %q", name)
	}
	return nil
}

func (o *optimizer) Close() {
	for _, g := range o.groups {
		g.Close()
	}
}
