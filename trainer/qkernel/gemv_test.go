package qkernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// GEMV equals the float64 product up to float32 rounding of a K-term sum, on
// shapes with row tails (N mod 4 ≠ 0) and input tails (K mod 8 ≠ 0), with and
// without bias, one and two threads, on the AVX2 code and the portable C.
func TestGEMV(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, simd := range []bool{true, false} {
		if simd && !HasAVX2() {
			continue
		}
		SetSIMD(simd)
		for _, s := range []struct{ M, N, K int }{{1, 1, 1}, {1, 7, 13}, {3, 9, 40}, {2, 4097, 129}, {5, 130, 896}} {
			for _, withBias := range []bool{false, true} {
				w, x := randX(r, s.N, s.K), randX(r, s.M, s.K)
				var bias []float32
				if withBias {
					bias = randX(r, 1, s.N)
				}
				for _, threads := range []int{1, 2} {
					y := make([]float32, s.M*s.N)
					GEMV(y, x, w, s.M, s.N, s.K, bias, threads)
					for m := 0; m < s.M; m++ {
						for n := 0; n < s.N; n++ {
							var want, mag float64
							for k := 0; k < s.K; k++ {
								p := float64(w[n*s.K+k]) * float64(x[m*s.K+k])
								want, mag = want+p, mag+math.Abs(p)
							}
							if bias != nil {
								want += float64(bias[n])
								mag += math.Abs(float64(bias[n]))
							}
							// float32 summation: error ≤ K·ε·Σ|terms| (a loose classical bound).
							if d := math.Abs(float64(y[m*s.N+n]) - want); d > float64(s.K+1)*0x1p-24*mag+1e-30 {
								t.Fatalf("%s %dx%dx%d bias=%v threads=%d: y[%d,%d] = %g, want %g", Kernel(), s.M, s.N, s.K, withBias, threads, m, n, y[m*s.N+n], want)
							}
						}
					}
				}
			}
		}
	}
	SetSIMD(true)
}

func TestGEMVRejectsBadShapes(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "GEMV [1,4]x[3,4]") {
			t.Fatalf("panic %v", r)
		}
	}()
	GEMV(make([]float32, 3), make([]float32, 4), make([]float32, 11), 1, 3, 4, nil, 1)
}
