package metrics

import "math/bits"

// Longest common subsequences, bit-parallel (Allison–Dix, Hyyrö 2004): the
// DP row of rouge_score's _lcs_table over the m prediction tokens is kept as
// an m-bit vector V whose bit j is 0 where the row steps up between columns j
// and j+1, so row[j] = j - popcount(V & (1<<j - 1)). One reference token
// updates a row with a few word operations instead of m cell updates:
//
//	U = V & match(token);  V = (V + U) | (V &^ match(token))
//
// lcs_test.go checks both functions against the plain table.

// lcsMasks builds, for the tokens of can, their match bit masks (words
// uint64 per distinct token) indexed through s.maskOf (-1 = not in can).
func lcsMasks(can []int32, words int, s *rougeScratch) {
	s.masks = s.masks[:0]
	for j, c := range can {
		k := s.maskOf[c]
		if k < 0 {
			k = int32(len(s.masks) / words)
			s.maskOf[c] = k
			for range words {
				s.masks = append(s.masks, 0)
			}
		}
		s.masks[int(k)*words+j/64] |= 1 << (j % 64)
	}
}

func lcsClearMasks(can []int32, s *rougeScratch) {
	for _, c := range can {
		s.maskOf[c] = -1
	}
}

// lcsStep advances row v (in place) by one reference token's match mask.
func lcsStep(v, match []uint64) {
	var carry uint64
	for w, x := range v {
		m := match[w]
		sum, c := bits.Add64(x, x&m, carry)
		v[w] = sum | (x &^ m)
		carry = c
	}
}

// lcsLength is lcs_table[-1][-1].
func lcsLength(ref, can []int32, s *rougeScratch) int {
	m := len(can)
	words := (m + 63) / 64
	lcsMasks(can, words, s)
	v := growUint64(&s.row, words)
	for w := range v {
		v[w] = ^uint64(0)
	}
	for _, r := range ref {
		if k := s.maskOf[r]; k >= 0 {
			lcsStep(v, s.masks[int(k)*words:int(k+1)*words])
		}
	}
	lcsClearMasks(can, s)
	return m - onesBelow(v, m)
}

// lcsMark sets s.union[i] for the positions i of ref on the LCS path that
// rouge_score's _backtrack_norec picks: from the end, a match goes
// diagonally, otherwise it moves left only where row[i][j-1] > row[i-1][j].
func lcsMark(ref, can []int32, s *rougeScratch) {
	n, m := len(ref), len(can)
	if n == 0 || m == 0 {
		return
	}
	words := (m + 63) / 64
	lcsMasks(can, words, s)
	rows := growUint64(&s.rows, (n+1)*words) // rows[i] is DP row i
	for w := range words {
		rows[w] = ^uint64(0)
	}
	for i, r := range ref {
		prev, cur := rows[i*words:(i+1)*words], rows[(i+1)*words:(i+2)*words]
		copy(cur, prev)
		if k := s.maskOf[r]; k >= 0 {
			lcsStep(cur, s.masks[int(k)*words:int(k+1)*words])
		}
	}
	lcsClearMasks(can, s)
	cell := func(i, j int) int { return j - onesBelow(rows[i*words:(i+1)*words], j) }
	for i, j := n, m; i > 0 && j > 0; {
		switch {
		case ref[i-1] == can[j-1]:
			s.union[i-1] = true
			i--
			j--
		case cell(i, j-1) > cell(i-1, j):
			j--
		default:
			i--
		}
	}
}

// onesBelow counts the set bits of v below bit j.
func onesBelow(v []uint64, j int) int {
	n := 0
	for w := 0; w < j/64; w++ {
		n += bits.OnesCount64(v[w])
	}
	if r := j % 64; r > 0 {
		n += bits.OnesCount64(v[j/64] & (1<<r - 1))
	}
	return n
}

func growUint64(p *[]uint64, n int) []uint64 {
	if cap(*p) < n {
		*p = make([]uint64, n)
	}
	*p = (*p)[:n]
	return *p
}
