package tokenizer

// mergeTable maps a pair of token ids to the merge's rank and the id of the
// merged token. It is an open-addressing hash table because the BPE inner
// loop is dominated by these lookups and Go maps are several times slower.
type mergeTable struct {
	keys  []uint64 // left<<32 | right; emptyKey marks a free slot
	vals  []uint64 // rank<<32 | merged id
	shift uint
}

const emptyKey = ^uint64(0)

func newMergeTable(n int) mergeTable {
	size, shift := 1, uint(64)
	for size*7 < n*10+1 { // load factor ≤ 0.7: short probe chains, 4 MB for Qwen
		size <<= 1
		shift--
	}
	t := mergeTable{keys: make([]uint64, size), vals: make([]uint64, size), shift: shift}
	for i := range t.keys {
		t.keys[i] = emptyKey
	}
	return t
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func (t *mergeTable) slot(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> t.shift }

// add stores a merge unless the pair already has one: the first (lowest
// rank) occurrence of a duplicated merge wins, as in tokenizers.
func (t *mergeTable) add(a, b, rank, merged int32) {
	k := pairKey(a, b)
	mask := uint64(len(t.keys) - 1)
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case emptyKey:
			t.keys[i], t.vals[i] = k, uint64(uint32(rank))<<32|uint64(uint32(merged))
			return
		case k:
			return
		}
	}
}

// get returns the rank and merged id of the pair (a, b), or ok=false.
func (t *mergeTable) get(a, b int32) (rank, merged int32, ok bool) {
	k := pairKey(a, b)
	mask := uint64(len(t.keys) - 1)
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			v := t.vals[i]
			return int32(v >> 32), int32(uint32(v)), true
		case emptyKey:
			return 0, 0, false
		}
	}
}
