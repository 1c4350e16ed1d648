package torch_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"medqa/trainer/torch"
)

// The two-process tests re-execute this test binary as each rank (distWorkerEnv says which part to
// run); a rank prints its results on stdout as "result: ..." lines that the parent compares.
const distWorkerEnv = "MEDQA_TORCH_DIST_WORKER"

func TestMain(m *testing.M) {
	if part := os.Getenv(distWorkerEnv); part != "" {
		if err := distWorker(part); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func distWorker(part string) error {
	if err := torch.Loaded(); err != nil {
		return err
	}
	rank, _ := strconv.Atoi(os.Getenv("RANK"))
	world, _ := strconv.Atoi(os.Getenv("WORLD_SIZE"))
	port, _ := strconv.Atoi(os.Getenv("MASTER_PORT"))
	if err := torch.InitProcessGroup("gloo", "127.0.0.1", port, rank, world, "", 5*time.Second); err != nil {
		return err
	}
	defer torch.DestroyProcessGroup()
	s := torch.NewScope()
	defer s.Close()
	switch part {
	case "allreduce":
		// rank r holds (r+1)*[1, 2, 3]: the sum over ranks 0 and 1 is [3, 6, 9].
		t := torch.FromSlice(s, []float32{float32(rank + 1), float32(2 * (rank + 1)), float32(3 * (rank + 1))}, 3)
		if err := torch.AllReduce(t); err != nil {
			return err
		}
		fmt.Println("result:", torch.ToSlice[float32](t))
		// Gradients: p gets grad (rank+1)*w on rank 0 only (rank 1 has none, as a rank whose share
		// had no learned token); q gets 10*(rank+1) on both; extra rides along.
		p := torch.FromSlice(s, []float32{1, 2}, 2).SetRequiresGrad(true)
		q := torch.FromSlice(s, []float32{5}, 1).SetRequiresGrad(true)
		loss := q.MulScalar(s, float64(10*(rank+1))).Sum(s)
		if rank == 0 {
			loss = loss.Add(s, p.Mul(s, torch.FromSlice(s, []float32{3, 4}, 2)).Sum(s))
		}
		loss.Backward()
		extra := torch.FromSlice(s, []float32{float32(rank)}, 1)
		for _, bucket := range []int64{0, 1} { // one bucket, then one per tensor
			if err := torch.AllReduceGrads([]*torch.Tensor{p, q}, extra, bucket); err != nil {
				return err
			}
		}
		// Reduced twice, so each result is summed over the ranks again (see the test's wants).
		fmt.Println("result:", torch.ToSlice[float32](p.Grad(s)), torch.ToSlice[float32](q.Grad(s)), torch.ToSlice[float32](extra))
		return torch.Barrier()
	case "dead-peer", "silent-peer":
		if rank == 1 {
			if part == "silent-peer" { // alive, connected, but never joins the collective
				time.Sleep(9 * time.Second)
			}
			os.Exit(3) // dies without a word, as a killed rank would
		}
		start := time.Now()
		t := torch.FromSlice(s, []float32{1}, 1)
		err := torch.AllReduce(t)
		fmt.Printf("result: after %.0fs: %v\n", time.Since(start).Seconds(), err)
		return nil
	}
	return fmt.Errorf("unknown part %q", part)
}

// runRanks starts world copies of this binary as the ranks of part and returns their outputs.
func runRanks(t *testing.T, part string, world int) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	outs := make([]string, world)
	var wg sync.WaitGroup
	for r := range world {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), distWorkerEnv+"="+part, "RANK="+strconv.Itoa(r), "WORLD_SIZE="+strconv.Itoa(world),
				"MASTER_PORT="+strconv.Itoa(port), "OMP_NUM_THREADS=1")
			out, err := cmd.CombinedOutput()
			outs[r] = string(out)
			if err != nil {
				outs[r] += fmt.Sprintf("\n(exit: %v)", err)
			}
		}()
	}
	wg.Wait()
	return outs
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func results(out string) []string {
	var rs []string
	for _, l := range strings.Split(out, "\n") {
		if r, ok := strings.CutPrefix(l, "result: "); ok {
			rs = append(rs, r)
		}
	}
	return rs
}

func needGloo(t *testing.T) {
	t.Helper()
	if err := torch.Loaded(); err != nil {
		t.Skip(err)
	}
	bs, err := torch.DistBackends()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(bs, "gloo") {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the shim has no Gloo backend (has %q): install libgloo-dev and rebuild it (make shim)", bs)
		}
		t.Skipf("the shim has no Gloo backend (has %q): install libgloo-dev and rebuild it (make shim)", bs)
	}
}

func TestDistAllReduceTwoProcesses(t *testing.T) {
	needGloo(t)
	outs := runRanks(t, "allreduce", 2)
	// p's grad: [3, 4] from rank 0 only, reduced twice -> [6, 8]; q's: 10 + 20 = 30, twice -> 60;
	// extra: 0 + 1 = 1, then 1 + 1 = 2.
	want := []string{"[3 6 9]", "[6 8] [60] [2]"}
	for r, out := range outs {
		if got := results(out); !slices.Equal(got, want) {
			t.Errorf("rank %d: results %q, want %q; output:\n%s", r, got, want, out)
		}
	}
}

// A peer that died fails the collective at once (its sockets close); one that hangs fails it after the
// group's timeout (5 s here), before the peer's own 9 s are up.
func TestDistDeadPeerFails(t *testing.T) {
	needGloo(t)
	for _, part := range []string{"dead-peer", "silent-peer"} {
		outs := runRanks(t, part, 2)
		got := results(outs[0])
		if len(got) != 1 || strings.HasSuffix(got[0], "<nil>") {
			t.Fatalf("%s: rank 0's results %q, want an error; output:\n%s", part, got, outs[0])
		}
		var secs float64
		fmt.Sscanf(got[0], "after %fs", &secs)
		if secs > 10 {
			t.Errorf("%s: the allreduce failed after %.0f s, the timeout is 5 s", part, secs)
		}
		t.Logf("%s: rank 0's error: %s", part, got[0])
	}
}
