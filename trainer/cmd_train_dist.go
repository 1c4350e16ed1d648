package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"medqa/trainer/sft"
	"medqa/trainer/torch"
)

// Data-parallel training: `trainer train` joins a c10d process group when torchrun's variables say
// it is one of several processes (torchrun, Kubernetes' PyTorchJob and Slurm wrappers set them), and
// `--nproc-per-node N` starts N such workers on this machine itself. docs/distributed.md.

// distFlags are the train verb's flags about the process group.
type distFlags struct {
	backend  string
	timeout  time.Duration
	nproc    int
	bucketMB float64
}

func (d *distFlags) bind(fl interface {
	StringVar(*string, string, string, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	IntVar(*int, string, int, string)
	Float64Var(*float64, string, float64, string)
}) {
	fl.StringVar(&d.backend, "dist-backend", "auto", "process group backend when WORLD_SIZE > 1: auto (nccl on CUDA, gloo on CPU), gloo or nccl")
	fl.DurationVar(&d.timeout, "dist-timeout", 10*time.Minute, "a rendezvous or collective that waits longer fails the run (a hung or unreachable rank)")
	fl.Float64Var(&d.bucketMB, "dist-bucket-mb", 64, "--full: MiB of float32 gradients per allreduce (LoRA's adapters always go in one)")
	fl.IntVar(&d.nproc, "nproc-per-node", 1, "with N > 1, start N local worker processes (as `torchrun --nproc_per_node N` would) and wait for them")
}

// distEnv is this process's place as torchrun describes it.
type distEnv struct {
	rank, localRank, world, port int
	addr                         string
	// agentPrefix is set under torchrun's static rendezvous (TORCHELASTIC_USE_AGENT_STORE=True),
	// where torchrun's agent hosts the store at MASTER_ADDR:MASTER_PORT: the ranks use it under the
	// prefix torch.distributed uses there.
	agentPrefix string
}

// readDistEnv reads RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; world is 1 (alone)
// when WORLD_SIZE is unset or 1.
func readDistEnv() (distEnv, error) {
	e := distEnv{world: 1}
	num := func(name string, v *int, required bool) error {
		s, ok := os.LookupEnv(name)
		if !ok || s == "" {
			if required {
				return fmt.Errorf("%s is not set (WORLD_SIZE is %d: a launcher such as torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)", name, e.world)
			}
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("%s=%q: want a non-negative integer", name, s)
		}
		*v = n
		return nil
	}
	if err := num("WORLD_SIZE", &e.world, false); err != nil {
		return e, err
	}
	if e.world <= 1 {
		return distEnv{world: 1}, nil
	}
	if err := num("RANK", &e.rank, true); err != nil {
		return e, err
	}
	e.localRank = e.rank
	if err := num("LOCAL_RANK", &e.localRank, false); err != nil {
		return e, err
	}
	if err := num("MASTER_PORT", &e.port, true); err != nil {
		return e, err
	}
	if e.addr = os.Getenv("MASTER_ADDR"); e.addr == "" {
		return e, fmt.Errorf("MASTER_ADDR is not set (WORLD_SIZE is %d)", e.world)
	}
	if os.Getenv("TORCHELASTIC_USE_AGENT_STORE") == "True" {
		attempt := os.Getenv("TORCHELASTIC_RESTART_COUNT")
		if attempt == "" {
			attempt = "0"
		}
		e.agentPrefix = "/worker/attempt_" + attempt
	}
	if e.rank >= e.world {
		return e, fmt.Errorf("RANK=%d outside WORLD_SIZE=%d", e.rank, e.world)
	}
	if e.port < 1 || e.port > 65535 {
		return e, fmt.Errorf("MASTER_PORT=%d outside 1..65535", e.port)
	}
	return e, nil
}

// joinGroup joins the process group that env describes, with the backend df and the run's device
// choose; it returns what sft needs and a function that leaves the group.
func joinGroup(env distEnv, df distFlags, cfg sft.Config) (sft.Dist, func(), error) {
	d := sft.Dist{Rank: env.rank, World: env.world, LocalRank: env.localRank}
	if err := torch.Loaded(); err != nil {
		return d, nil, err
	}
	backend := df.backend
	if backend == "auto" {
		dev, err := sft.ResolveDevice(cfg.Device, d)
		if err != nil {
			return d, nil, err
		}
		backend = map[bool]string{true: "nccl", false: "gloo"}[dev.IsCUDA()]
	}
	if backend != "gloo" && backend != "nccl" {
		return d, nil, fmt.Errorf("--dist-backend %q: want auto, gloo or nccl", df.backend)
	}
	if df.timeout <= 0 {
		return d, nil, fmt.Errorf("--dist-timeout %v: must be positive", df.timeout)
	}
	if !(df.bucketMB > 0) {
		return d, nil, fmt.Errorf("--dist-bucket-mb %v: must be positive", df.bucketMB)
	}
	d.BucketNumel = max(1, int64(df.bucketMB*(1<<20)/4))
	if err := torch.InitProcessGroup(backend, env.addr, env.port, env.rank, env.world, env.agentPrefix, df.timeout); err != nil {
		return d, nil, err
	}
	return d, func() { torch.DestroyProcessGroup() }, nil
}

// rankWriter prefixes every write (one event line each) with the rank, for the stderr of ranks
// other than 0.
type rankWriter struct {
	w    io.Writer
	rank int
}

func (r rankWriter) Write(p []byte) (int, error) {
	if _, err := fmt.Fprintf(r.w, "rank %d: %s", r.rank, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// launchLocal runs `trainer train args...` (without --nproc-per-node) as n workers of one group on
// this machine: MASTER_ADDR 127.0.0.1, a free port, RANK = LOCAL_RANK = 0..n-1. Rank 0's stdout is
// this process's (the events); every worker's stderr is too. Signals are passed on. When a worker
// fails, the others are given grace to fail on their own (their collectives fail at once when a
// peer's sockets close) and are then killed; the error names the first rank that failed.
func launchLocal(n int, args []string, grace time.Duration) error {
	if env := os.Getenv("WORLD_SIZE"); env != "" && env != "1" {
		return fmt.Errorf("--nproc-per-node inside a launched group (WORLD_SIZE=%s): use one launcher", env)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("--nproc-per-node: no free port on 127.0.0.1: %v", err)
	}
	type exit struct {
		rank int
		err  error
	}
	exits := make(chan exit, n)
	cmds := make([]*exec.Cmd, n)
	for r := range n {
		c := exec.Command(exe, append([]string{"train"}, args...)...)
		c.Env = os.Environ()
		if _, ok := os.LookupEnv("OMP_NUM_THREADS"); !ok {
			// As torchrun does, the workers share the cores instead of each taking all of them.
			c.Env = append(c.Env, "OMP_NUM_THREADS="+strconv.Itoa(max(1, runtime.NumCPU()/n)))
		}
		c.Env = append(c.Env, "RANK="+strconv.Itoa(r), "LOCAL_RANK="+strconv.Itoa(r), "WORLD_SIZE="+strconv.Itoa(n),
			"LOCAL_WORLD_SIZE="+strconv.Itoa(n), "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port))
		c.Stderr = os.Stderr
		// Own process group: a terminal's ^C reaches the launcher alone, which passes it on once (a
		// worker takes a second signal as "stop at once"). Should the launcher be killed outright,
		// the workers are told as if signalled: they stop together and rank 0 saves a checkpoint.
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		if r == 0 {
			c.Stdout = os.Stdout
		} else {
			c.Stdout = rankWriter{os.Stderr, r}
		}
		if err := c.Start(); err != nil {
			for _, s := range cmds[:r] {
				s.Process.Kill()
			}
			return fmt.Errorf("starting rank %d: %v", r, err)
		}
		cmds[r] = c
		go func() { exits <- exit{r, c.Wait()} }()
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	running := make([]bool, n)
	for i := range running {
		running[i] = true
	}
	var first *exit
	var deadline <-chan time.Time
	for left := n; left > 0; {
		select {
		case sig := <-sigs:
			for r, c := range cmds {
				if running[r] {
					c.Process.Signal(sig)
				}
			}
		case e := <-exits:
			left--
			running[e.rank] = false
			if e.err != nil && first == nil {
				first = &e
				deadline = time.After(grace)
			}
		case <-deadline:
			for r, c := range cmds {
				if running[r] {
					fmt.Fprintf(os.Stderr, "trainer train: rank %d still running %v after rank %d failed; killing it\n", r, grace, first.rank)
					c.Process.Kill()
				}
			}
			deadline = nil
		}
	}
	if first != nil {
		return fmt.Errorf("rank %d of %d (pid %d) failed: %s; the run stopped", first.rank, n, cmds[first.rank].Process.Pid, exitText(first.err))
	}
	return nil
}

// exitText says how a worker ended: "exit status 1" or "killed by signal killed".
func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
	}
	return err.Error()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// withoutFlag returns args without the flag name (as -name V, --name V, -name=V or --name=V).
func withoutFlag(args []string, name string) []string {
	out := slices.Clone(args)
	for i := 0; i < len(out); i++ {
		a := strings.TrimLeft(out[i], "-")
		if !strings.HasPrefix(out[i], "-") {
			continue
		}
		if a == name && i+1 < len(out) {
			out = slices.Delete(out, i, i+2)
			i--
		} else if strings.HasPrefix(a, name+"=") {
			out = slices.Delete(out, i, i+1)
			i--
		}
	}
	return out
}
