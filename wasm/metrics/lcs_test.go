package metrics

import (
	"math/rand"
	"slices"
	"testing"
)

// lcsTable is rouge_score's _lcs_table, transcribed plainly.
func lcsTable(ref, can []int32) [][]int {
	t := make([][]int, len(ref)+1)
	for i := range t {
		t[i] = make([]int, len(can)+1)
	}
	for i := 1; i <= len(ref); i++ {
		for j := 1; j <= len(can); j++ {
			if ref[i-1] == can[j-1] {
				t[i][j] = t[i-1][j-1] + 1
			} else {
				t[i][j] = max(t[i-1][j], t[i][j-1])
			}
		}
	}
	return t
}

// backtrackNorec is rouge_score's _backtrack_norec, transcribed plainly.
func backtrackNorec(t [][]int, ref, can []int32) []int {
	var lcs []int
	i, j := len(ref), len(can)
	for i > 0 && j > 0 {
		switch {
		case ref[i-1] == can[j-1]:
			lcs = append([]int{i - 1}, lcs...)
			i--
			j--
		case t[i][j-1] > t[i-1][j]:
			j--
		default:
			i--
		}
	}
	return lcs
}

// TestBitParallelLCS compares the bit-vector LCS with the plain table on
// random sequences over small alphabets (many ties), across word boundaries.
func TestBitParallelLCS(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const vocab = 8
	s := newRougeScratch(vocab)
	seq := func() []int32 {
		n := rng.Intn(200)
		if rng.Intn(4) == 0 {
			n = rng.Intn(5)
		}
		k := 1 + rng.Intn(vocab)
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(rng.Intn(k))
		}
		return out
	}
	for it := 0; it < 3000; it++ {
		ref, can := seq(), seq()
		tab := lcsTable(ref, can)
		if got, want := lcsLength(ref, can, s), tab[len(ref)][len(can)]; got != want {
			t.Fatalf("lcsLength(%v, %v) = %d, want %d", ref, can, got, want)
		}
		s.union = make([]bool, len(ref))
		lcsMark(ref, can, s)
		var got []int
		for i, in := range s.union {
			if in {
				got = append(got, i)
			}
		}
		if want := backtrackNorec(tab, ref, can); !slices.Equal(got, want) {
			t.Fatalf("lcsMark(%v, %v) = %v, want %v", ref, can, got, want)
		}
		for i, k := range s.maskOf {
			if k != -1 {
				t.Fatalf("mask index of token %d left at %d", i, k)
			}
		}
	}
}
