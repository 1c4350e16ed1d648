package sft

import "math"

// schedule is transformers' get_{linear,cosine,constant}_schedule_with_warmup:
// the learning rate of the update made at step k (0-based) is base·f(k), with
// f rising linearly from 0 over the warmup steps and then decaying to 0 at
// total (linear or half-cosine) or staying at 1 (constant).
type schedule struct {
	kind          string
	warmup, total int
	base          float64
}

func newSchedule(c Config, total int) schedule {
	w := c.WarmupSteps
	if w == 0 {
		w = int(math.Ceil(c.WarmupRatio * float64(total)))
	}
	return schedule{kind: c.Schedule, warmup: w, total: total, base: c.LR}
}

func (s schedule) lr(k int) float64 {
	if k < s.warmup {
		return s.base * float64(k) / float64(max(1, s.warmup))
	}
	if s.kind == "constant" {
		return s.base
	}
	rest := float64(max(1, s.total-s.warmup))
	p := float64(k-s.warmup) / rest
	if s.kind == "linear" {
		return s.base * max(0, 1-p)
	}
	return s.base * max(0, 0.5*(1+math.Cos(math.Pi*p)))
}
