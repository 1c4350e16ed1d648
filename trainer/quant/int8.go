package quant

import (
	"math"
	"runtime"
	"sync"
)

// QuantizeRows8 quantizes w [rows,cols] with one symmetric scale per row (a
// row of an [out,in] weight is an output channel): scale = max|w|/127 and
// q = round(w/scale) in [-127,127], so |w - q·scale| <= scale/2. -128 is never
// produced, keeping the code symmetric around zero. An all-zero row has scale 0.
func QuantizeRows8(w []float32, rows, cols int) (q []int8, scale []float32) {
	q = make([]int8, rows*cols)
	scale = make([]float32, rows)
	forRows(rows, cols, func(r int) {
		row := w[r*cols : (r+1)*cols]
		var amax float32
		for _, v := range row {
			amax = max(amax, v, -v)
		}
		s := float32(float64(amax) / 127)
		scale[r] = s
		if s == 0 {
			return
		}
		out := q[r*cols : (r+1)*cols]
		s64 := float64(s)
		for i, v := range row {
			out[i] = int8(clamp(math.Round(float64(v)/s64), -127, 127))
		}
	})
	return q, scale
}

// DequantizeRows8 writes q·scale into dst [rows,cols].
func DequantizeRows8(dst []float32, q []int8, scale []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		s := scale[r]
		out, in := dst[r*cols:(r+1)*cols], q[r*cols:(r+1)*cols]
		for i, v := range in {
			out[i] = float32(v) * s
		}
	}
}

// clamp is min(max(x, lo), hi) for the finite values quantization sees
// (math.Min/Max also order NaN and -0, at several times the cost).
func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// forRows runs fn for every row, splitting large matrices across the cores
// (rows are independent).
func forRows(rows, cols int, fn func(r int)) {
	workers := min(runtime.GOMAXPROCS(0), rows*cols/(1<<16)+1)
	if workers <= 1 {
		for r := 0; r < rows; r++ {
			fn(r)
		}
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for r := lo; r < hi; r++ {
				fn(r)
			}
		}(rows*k/workers, rows*(k+1)/workers)
	}
	wg.Wait()
}
