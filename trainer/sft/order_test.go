package sft

import (
	"math"
	"slices"
	"testing"
)

func TestEpochOrder(t *testing.T) {
	lengths := make([]int, 1000)
	for i := range lengths {
		lengths[i] = 10 + (i*7919)%500
	}
	padding := func(order [][]int) int {
		p := 0
		for _, b := range order {
			mx := 0
			for _, i := range b {
				mx = max(mx, lengths[i])
			}
			for _, i := range b {
				p += mx - lengths[i]
			}
		}
		return p
	}
	for _, grouped := range []bool{false, true} {
		a := epochOrder(lengths, 8, grouped, 42, 0)
		if !slices.EqualFunc(a, epochOrder(lengths, 8, grouped, 42, 0), slices.Equal[[]int]) {
			t.Fatal("same seed and epoch gave another order")
		}
		if slices.EqualFunc(a, epochOrder(lengths, 8, grouped, 42, 1), slices.Equal[[]int]) {
			t.Fatal("epochs 0 and 1 have the same order")
		}
		var all []int
		for _, b := range a {
			if len(b) > 8 {
				t.Fatalf("batch of %d", len(b))
			}
			all = append(all, b...)
		}
		slices.Sort(all)
		for i, v := range all {
			if v != i {
				t.Fatalf("grouped=%v: the epoch is not a permutation (index %d is %d)", grouped, i, v)
			}
		}
	}
	random, grouped := padding(epochOrder(lengths, 8, false, 42, 0)), padding(epochOrder(lengths, 8, true, 42, 0))
	if grouped*5 > random {
		t.Errorf("length grouping pads %d tokens, random batches %d: want at least 5x less", grouped, random)
	}
}

func TestPack(t *testing.T) {
	exs := toyTask(50, 3)
	total := 0
	for _, ex := range exs {
		total += len(ex.InputIDs)
	}
	packed := pack(exs, 64, 1)
	got := 0
	for _, p := range packed {
		if len(p.InputIDs) > 64 || len(p.Labels) != len(p.InputIDs) {
			t.Fatalf("packed sequence of %d tokens", len(p.InputIDs))
		}
		got += len(p.InputIDs)
	}
	if got != total || len(packed) >= len(exs)/4 {
		t.Errorf("packed %d tokens into %d sequences (had %d tokens in %d)", got, len(packed), total, len(exs))
	}
}

// TestSchedule checks the transformers formulas at points computed by hand.
func TestSchedule(t *testing.T) {
	c := Defaults()
	c.LR, c.WarmupSteps = 1, 10
	for _, tc := range []struct {
		kind string
		k    int
		want float64
	}{
		{"linear", 0, 0}, {"linear", 5, 0.5}, {"linear", 10, 1}, {"linear", 55, 0.5}, {"linear", 100, 0},
		{"cosine", 0, 0}, {"cosine", 10, 1}, {"cosine", 55, 0.5}, {"cosine", 32, 0.5 * (1 + math.Cos(math.Pi*22/90))},
		{"cosine", 100, 0}, {"constant", 3, 0.3}, {"constant", 99, 1},
	} {
		c.Schedule = tc.kind
		if got := newSchedule(c, 100).lr(tc.k); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s lr(%d) = %g, want %g", tc.kind, tc.k, got, tc.want)
		}
	}
	c.WarmupSteps, c.WarmupRatio = 0, 0.03
	if w := newSchedule(c, 1000).warmup; w != 30 {
		t.Errorf("warmup ratio 0.03 of 1000 steps = %d steps, want 30", w)
	}
}
