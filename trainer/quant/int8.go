package quant

import "math"

// QuantizeRows8 quantizes w [rows,cols] with one symmetric scale per row (a
// row of an [out,in] weight is an output channel): scale = max|w|/127 and
// q = round(w/scale) in [-127,127], so |w - q·scale| <= scale/2. -128 is never
// produced, keeping the code symmetric around zero. An all-zero row has scale 0.
func QuantizeRows8(w []float32, rows, cols int) (q []int8, scale []float32) {
	q = make([]int8, rows*cols)
	scale = make([]float32, rows)
	for r := 0; r < rows; r++ {
		row := w[r*cols : (r+1)*cols]
		amax := 0.0
		for _, v := range row {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		s := float32(amax / 127)
		scale[r] = s
		if s == 0 {
			continue
		}
		out := q[r*cols : (r+1)*cols]
		for i, v := range row {
			out[i] = int8(clamp(math.Round(float64(v)/float64(s)), -127, 127))
		}
	}
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

func clamp(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }
