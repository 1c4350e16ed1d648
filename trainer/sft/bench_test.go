package sft

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/data"
	"medqa/trainer/lora"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// BenchmarkLoRAStep times one LoRA training step as the trainer runs it
// (forward, loss over all 511 next-token targets, backward, gradient
// clipping, AdamW) on a random Qwen2.5-0.5B-shaped model, T=512, rank 16 on
// all linear layers, float32 on the CPU; then runs the PyTorch-eager peer
// (trainer/qwen2/peer/qwen2_peer.py lora-step) on the same shape with the
// same threads and reports both and their ratio (goal ≤ 1). Each side's
// figure is its fastest of two steps after a warm-up step.
//
//	nice go test -run '^$' -bench LoRAStep -benchtime 1x ./trainer/sft
func BenchmarkLoRAStep(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const T, rank = 512, 16
	threads := runtime.NumCPU()
	torch.SetNumThreads(threads)
	m, err := qwen2.NewRandom(qwen2test.Config(testkit.Qwen25), 0, torch.Float32, torch.CPU)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	lc := lora.Config{R: rank, Alpha: 32, Targets: lora.Modules}
	if err := lora.Attach(m, lc, 0, torch.Float32); err != nil {
		b.Fatal(err)
	}
	// The peer's input: ids (i·7919+13) mod V, every next token learned.
	ex := data.Example{InputIDs: make([]int32, T), AttentionMask: make([]int32, T), Labels: make([]int32, T)}
	for i := range T {
		id := int32((i*7919 + 13) % m.Config.VocabSize)
		ex.InputIDs[i], ex.AttentionMask[i], ex.Labels[i] = id, 1, id
	}
	c := Defaults()
	c.LR, c.BatchSize, c.LogEvery, c.MaxGradNorm, c.LoraDropout = 1e-4, 1, 0, 0, 0
	r := &run{cfg: c, dataset: NewDataset([]data.Example{ex}, nil), m: m, loraConfig: lc, batchesPerEpoch: 1, batchOrderEpoch: -1,
		trainable: loraTrainables(m, false), sched: schedule{kind: "constant", base: 1e-4, total: 1 << 30}, events: &emitter{}, started: time.Now()}
	r.optim = newOptimizer(r.trainable, c)
	defer r.optim.Close()

	r.step(context.Background()) // first step: allocator and OpenMP warm-up, as the peer's step 0
	// The fastest of two timed steps, for both sides: the machine is shared,
	// and the minimum is the least disturbed measurement. CPU time (all
	// threads) is reported beside wall time: it is much less sensitive to
	// other jobs taking turns on the cores.
	ours, oursCPU := math.Inf(1), math.Inf(1)
	b.ResetTimer()
	for range b.N {
		for range 2 {
			t0, c0 := time.Now(), cpuSeconds()
			r.step(context.Background())
			ours, oursCPU = min(ours, time.Since(t0).Seconds()), min(oursCPU, cpuSeconds()-c0)
		}
	}
	b.StopTimer()
	b.ReportMetric(ours, "s/step")
	b.ReportMetric(oursCPU, "cpu-s/step")
	b.Logf("medqa: %.2f s/step, %.2f CPU-s/step (loss %.4f, %d threads, %s)", ours, oursCPU, r.state.Loss, threads, torch.BLAS())

	peer, peerCPU := peerLoRAStep(b, threads)
	if peer > 0 {
		b.ReportMetric(peer, "peer-s/step")
		b.ReportMetric(ours/peer, "ratio")
		b.ReportMetric(oursCPU/peerCPU, "cpu-ratio")
		b.Logf("pytorch-eager: %.2f s/step, %.2f CPU-s/step; ratio medqa/pytorch = %.3f wall, %.3f CPU (goal ≤ 1.0)",
			peer, peerCPU, ours/peer, oursCPU/peerCPU)
	}
}

// cpuSeconds is this process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// procCPUSeconds is another process's user+system CPU time from /proc.
func procCPUSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat")
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// peerLoRAStep runs the PyTorch peer for 3 steps and returns the faster of
// steps 1 and 2 (step 0 warms up) in wall and CPU seconds, or zeros when the
// peer cannot run here. The CPU time of a step is read from /proc as each
// step's line arrives (python -u, so lines are not held in a buffer).
func peerLoRAStep(b *testing.B, threads int) (wall, cpu float64) {
	peer, err := testkit.PeerCommand(b)
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal(err)
		}
		b.Logf("no peer: %v", err)
		return 0, 0
	}
	cmd := exec.Command(peer[0], "-u", peer[1], "lora-step", "--shape", "qwen2.5-0.5b", "--seq", "512",
		"--rank", "16", "--steps", "3", "--threads", strconv.Itoa(threads))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("peer: %v", err)
	}
	wall, cpu = math.Inf(1), math.Inf(1)
	prevCPU := -1.0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		now, cerr := procCPUSeconds(cmd.Process.Pid)
		var rec struct {
			Step    int     `json:"step"`
			Seconds float64 `json:"seconds"`
			Loss    float64 `json:"loss"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			b.Fatalf("peer output %q: %v", sc.Text(), err)
		}
		stepCPU := math.NaN()
		if cerr == nil && prevCPU >= 0 {
			stepCPU = now - prevCPU
		}
		if cerr == nil {
			prevCPU = now
		}
		if rec.Step > 0 {
			wall = min(wall, rec.Seconds)
			if !math.IsNaN(stepCPU) {
				cpu = min(cpu, stepCPU)
			}
		}
		b.Logf("peer step %d: %.2f s, %.2f CPU-s (loss %.4f)", rec.Step, rec.Seconds, stepCPU, rec.Loss)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("peer: %v", err)
	}
	if math.IsInf(wall, 1) {
		b.Fatal("peer printed no timed steps")
	}
	return wall, cpu
}

// BenchmarkLoRAStepCUDA is the GPU check's training step: Qwen2.5-0.5B shape,
// 8 sequences of 512 tokens, rank 16 all-linear, bf16 autocast (bf16 base
// weights, float32 adapter masters), reporting tokens/s. It runs only with
// MEDQA_DEVICE=cuda[:N] with the shim built against a CUDA libtorch (make shim LIBTORCH=...).
//
//	MEDQA_DEVICE=cuda go test -run '^$' -bench LoRAStepCUDA -benchtime 5x ./trainer/sft
func BenchmarkLoRAStepCUDA(b *testing.B) {
	devName := os.Getenv("MEDQA_DEVICE")
	if devName == "" || devName == "cpu" {
		b.Skip("set MEDQA_DEVICE=cuda to run the GPU training step")
	}
	dev, err := ResolveDevice(devName, Dist{})
	if err != nil {
		b.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const B, T = 8, 512
	m, err := qwen2.NewRandom(qwen2test.Config(testkit.Qwen25), 0, torch.BFloat16, dev)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	lc := lora.Config{R: 16, Alpha: 32, Dropout: 0.05, Targets: lora.Modules}
	if err := lora.Attach(m, lc, 0, torch.Float32); err != nil {
		b.Fatal(err)
	}
	var exs []data.Example
	for r := range B {
		ex := data.Example{InputIDs: make([]int32, T), AttentionMask: make([]int32, T), Labels: make([]int32, T)}
		for i := range T {
			id := int32((i*7919 + 13 + r*104729) % m.Config.VocabSize)
			ex.InputIDs[i], ex.AttentionMask[i], ex.Labels[i] = id, 1, id
		}
		exs = append(exs, ex)
	}
	c := Defaults()
	c.BatchSize, c.LogEvery = B, 0
	r := &run{cfg: c, dataset: NewDataset(exs, nil), m: m, loraConfig: lc, batchesPerEpoch: 1, batchOrderEpoch: -1, mixed: true,
		trainable: loraTrainables(m, true), sched: schedule{kind: "constant", base: 2e-4, total: 1 << 30}, events: &emitter{}, started: time.Now()}
	r.optim = newOptimizer(r.trainable, c)
	defer r.optim.Close()
	r.step(context.Background())
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		r.step(context.Background())
	}
	_ = r.state.Loss // Item() in step synchronises with the device every micro-batch
	secs := time.Since(t0).Seconds() / float64(b.N)
	b.ReportMetric(float64(B*T)/secs, "tokens/s")
	b.Logf("%s bf16 autocast: %.3f s/step, %.0f tokens/s (loss %.4f)", dev, secs, float64(B*T)/secs, r.state.Loss)
}
