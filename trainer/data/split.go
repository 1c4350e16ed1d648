package data

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Split names, in output order.
const (
	SplitTrain      = "train"
	SplitValidation = "validation"
	SplitTest       = "test"
)

// SplitNames lists the splits in the order they are written and reported.
var SplitNames = []string{SplitTrain, SplitValidation, SplitTest}

// SplitConfig chooses the split fractions and the seed. Train gets the rest.
type SplitConfig struct {
	Seed       uint64
	Validation float64
	Test       float64
}

// Validate rejects fractions that cannot make a split.
func (c SplitConfig) Validate() error {
	if !(c.Validation >= 0 && c.Validation <= 1) || !(c.Test >= 0 && c.Test <= 1) || c.Validation+c.Test > 1 {
		return fmt.Errorf("split fractions validation=%g test=%g: want each in [0,1] and their sum at most 1", c.Validation, c.Test)
	}
	return nil
}

// group is every row sharing one QuestionKey.
type group struct {
	key  string
	rows []int // indexes into the input, ascending
}

// Split assigns rows to train, validation and test, stratified by qtype and
// without leaks:
//
//   - rows with the same QuestionKey form a group, and a group goes to one
//     split whole;
//   - a group's stratum is its most common qtype (the first in sort order on
//     a tie; in MedQuAD every group has a single qtype);
//   - in each stratum the targets are round(n·test) and round(n·validation)
//     rows, train taking the rest; the stratum's groups, sorted by key and
//     then shuffled, go one by one to the split furthest below its target.
//
// Each stratum shuffles with its own PCG stream (seeded by Seed and the
// qtype's FNV-1a hash) and a bounded draw written here, so the result
// depends on nothing but the seed and the rows: not on map order, Go
// version, the order of the input files, or the other strata. Within a
// split, rows keep their input order. It returns the row indexes of each
// split, in SplitNames order.
func Split(rows []Row, cfg SplitConfig) ([3][]int, error) {
	var out [3][]int
	if err := cfg.Validate(); err != nil {
		return out, err
	}
	byKey := map[string]*group{}
	for i, r := range rows {
		k := QuestionKey(r.Question)
		g := byKey[k]
		if g == nil {
			g = &group{key: k}
			byKey[k] = g
		}
		g.rows = append(g.rows, i)
	}
	strata := map[string][]*group{}
	for _, g := range byKey {
		q := majorityQType(rows, g.rows)
		strata[q] = append(strata[q], g)
	}
	qtypes := make([]string, 0, len(strata))
	for q := range strata {
		qtypes = append(qtypes, q)
	}
	slices.Sort(qtypes)
	for _, q := range qtypes {
		groups := strata[q]
		slices.SortFunc(groups, func(a, b *group) int { return strings.Compare(a.key, b.key) })
		h := fnv.New64a()
		h.Write([]byte(q))
		rng := rand.NewPCG(cfg.Seed, h.Sum64())
		shuffle(rng, groups)

		n := 0
		for _, g := range groups {
			n += len(g.rows)
		}
		test := int(math.Round(float64(n) * cfg.Test))
		val := int(math.Round(float64(n) * cfg.Validation))
		if test+val > n { // both rounded up past n: give the excess back
			val = n - test
		}
		target := [3]int{n - val - test, val, test}
		var got [3]int
		for _, g := range groups {
			s := 0
			for i := 1; i < 3; i++ {
				if target[i]-got[i] > target[s]-got[s] {
					s = i
				}
			}
			got[s] += len(g.rows)
			out[s] = append(out[s], g.rows...)
		}
	}
	for i := range out {
		slices.Sort(out[i])
	}
	return out, nil
}

// majorityQType is the most common qtype among rows[idx], the smallest
// name on a tie, so that it does not depend on row order.
func majorityQType(rows []Row, idx []int) string {
	count := map[string]int{}
	best := ""
	for _, i := range idx {
		q := rows[i].QType
		count[q]++
		if n, m := count[q], count[best]; n > m || n == m && q < best {
			best = q
		}
	}
	return best
}

// shuffle is Fisher–Yates with uniformBelow, both written here rather than
// rand.Shuffle so that a split is reproducible across Go releases: only
// PCG's output sequence, which its algorithm fixes, is relied on.
func shuffle[T any](rng *rand.PCG, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := uniformBelow(rng, uint64(i+1))
		s[i], s[j] = s[j], s[i]
	}
}

// uniformBelow returns a uniform integer in [0, n) by rejection: draws at or
// above the largest multiple of n would bias the remainder, so they are
// drawn again.
func uniformBelow(rng *rand.PCG, n uint64) uint64 {
	limit := math.MaxUint64 - math.MaxUint64%n
	for {
		if v := rng.Uint64(); v < limit {
			return v % n
		}
	}
}
