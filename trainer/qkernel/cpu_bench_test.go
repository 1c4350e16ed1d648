package qkernel

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCPU is BenchmarkMatMul on one thread, reporting CPU time per op
// (cpu-ns/op): on a shared machine it moves less than wall time.
func BenchmarkCPU(b *testing.B) {
	for _, M := range []int{1, 64} {
		for _, s := range benchShapes {
			if M > 1 && s.N > 10000 {
				continue
			}
			r := rand.New(rand.NewPCG(1, 1))
			x := randX(r, M, s.K)
			y := make([]float32, M*s.N)
			q8, q4 := randQ8(r, s.N, s.K), randQ4(r, s.N, s.K, 32)
			run := func(name string, f func()) {
				b.Run(fmt.Sprintf("M=%d/%dx%d/%s", M, s.N, s.K, name), func(b *testing.B) {
					c0 := cpuTime()
					for b.Loop() {
						f()
					}
					b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
				})
			}
			for _, k := range []string{"vnni", "avx2"} {
				if k == "vnni" && !HasVNNI() {
					continue
				}
				run("q8/"+k, func() { Use(k); q8.MatMul(y, x, M, nil, 1) })
				run("q4/"+k, func() { Use(k); q4.MatMul(y, x, M, nil, 1) })
			}
			SetSIMD(true)
			run("q8f", func() { q8.MatMulFloat(y, x, M, nil, 1) })
		}
	}
}
