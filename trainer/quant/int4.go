package quant

import "math"

// QuantizeGroups4 quantizes w [rows,cols] in groups of group consecutive
// elements of a row (cols must be a multiple of group) to 4-bit codes with a
// float16 scale and an integer zero point per group, as GPTQ's round-to-nearest
// does: the group's range is widened to include 0, scale = (hi-lo)/15 (rounded
// up to the next float16 when rounding down would not cover the range),
// zero = round(-lo/scale) in [0,15], and q = clamp(round(w/scale)+zero, 0, 15).
// Dequantized, w ≈ (q-zero)·scale with |w - (q-zero)·scale| <= scale/2.
//
// Codes are packed two per byte along the row: element 2j in the low nibble,
// 2j+1 in the high nibble. scales holds float16 bits [rows, cols/group], zeros
// one byte per group.
func QuantizeGroups4(w []float32, rows, cols, group int) (packed []byte, scales []uint16, zeros []uint8) {
	ng := cols / group
	packed = make([]byte, rows*cols/2)
	scales = make([]uint16, rows*ng)
	zeros = make([]uint8, rows*ng)
	forRows(rows, cols, func(r int) {
		codes := make([]uint8, group)
		for g := 0; g < ng; g++ {
			off := r*cols + g*group
			vals := w[off : off+group]
			var lo32, hi32 float32
			for _, v := range vals {
				lo32, hi32 = min(lo32, v), max(hi32, v)
			}
			lo, hi := float64(lo32), float64(hi32)
			sh := F16Bits(float32((hi - lo) / 15))
			for float64(F16Float(sh))*15 < hi-lo {
				sh++ // positive float16 bit patterns are ordered like their values
			}
			s := float64(F16Float(sh))
			var zero float64
			for i := range codes {
				codes[i] = 0
			}
			if s > 0 {
				zero = clamp(math.Round(-lo/s), 0, 15)
				for i, v := range vals {
					codes[i] = uint8(clamp(math.Round(float64(v)/s)+zero, 0, 15))
				}
			}
			scales[r*ng+g], zeros[r*ng+g] = sh, uint8(zero)
			for i := 0; i < group; i += 2 {
				packed[(off+i)/2] = codes[i] | codes[i+1]<<4
			}
		}
	})
	return packed, scales, zeros
}

// DequantizeGroups4 writes (q-zero)·scale into dst [rows,cols].
func DequantizeGroups4(dst []float32, packed []byte, scales []uint16, zeros []uint8, rows, cols, group int) {
	ng := cols / group
	for r := 0; r < rows; r++ {
		for g := 0; g < ng; g++ {
			s, z := F16Float(scales[r*ng+g]), float32(zeros[r*ng+g])
			off := r*cols + g*group
			for i := 0; i < group; i += 2 {
				b := packed[(off+i)/2]
				dst[off+i] = (float32(b&0xf) - z) * s
				dst[off+i+1] = (float32(b>>4) - z) * s
			}
		}
	}
}
