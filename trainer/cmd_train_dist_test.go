package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"medqa/files"
	"medqa/trainer/lora"
	"medqa/trainer/safetensors"
	"medqa/trainer/sft"
	"medqa/trainer/torch"
)

// Data-parallel training must compute what one process computes on the same global batch: the
// lone run is the reference for the --nproc-per-node and torchrun runs (Gloo on loopback).

// needGloo skips (fails under CI=true) where the shim has no Gloo backend.
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
		msg := fmt.Sprintf("the libtorch shim has no Gloo backend (it has %q): apt-get install libgloo-dev, then make shim", bs)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

var trainerBin struct {
	once sync.Once
	path string
	err  error
}

// trainerBinary builds this package once into a temporary directory: the launchers (torchrun,
// --nproc-per-node) start the trainer binary itself, not this test binary.
func trainerBinary(t *testing.T) string {
	t.Helper()
	trainerBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "medqa-dist-trainer-")
		if err != nil {
			trainerBin.err = err
			return
		}
		trainerBin.path = filepath.Join(dir, "trainer")
		out, err := exec.Command("go", "build", "-o", trainerBin.path, ".").CombinedOutput()
		if err != nil {
			trainerBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if trainerBin.err != nil {
		t.Fatal(trainerBin.err)
	}
	return trainerBin.path
}

// distSplit is eight Q&A pairs: batch 4 gives two batches per epoch, so five steps see both and a
// reshuffled epoch.
func distSplit(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	row := func(q, a string) string {
		b, _ := json.Marshal(map[string]any{"messages": []map[string]string{
			{"role": "user", "content": q}, {"role": "assistant", "content": a}}})
		return string(b) + "\n"
	}
	train := row("What is (are) Glaucoma?", "A group of diseases that damage the optic nerve.") +
		row("What causes anemia?", "Too few red blood cells or too little hemoglobin.") +
		row("Is asthma inherited?", "It runs in families.") +
		row("How to prevent flu?", "Get vaccinated every year.") +
		row("What is hypertension?", "Blood pressure that stays high over time.") +
		row("What are the symptoms of diabetes?", "Thirst, frequent urination and tiredness, among others.") +
		row("Who gets gout?", "Mostly men over forty.") +
		row("How is malaria spread?", "By the bite of infected mosquitoes.")
	val := row("What is a fever?", "A body temperature above normal.") + row("What is a cold?", "A viral infection of the nose.") +
		row("What is a migraine?", "A headache with throbbing pain, often on one side.")
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte(train), 0o644)
	os.WriteFile(filepath.Join(dir, "validation.jsonl"), []byte(val), 0o644)
	return dir
}

// distArgs: dropout 0 (the ranks' dropout masks cannot match a lone process's), a learning rate
// large enough that five steps move the adapters well beyond rounding, one thread per process.
func distArgs(model, data, out string) []string {
	return []string{"train", "--model", model, "--data", data, "--out", out, "--max-steps", "5", "--batch-size", "4",
		"--lora-r", "4", "--lora-dropout", "0", "--lr", "0.01", "--warmup-steps", "0", "--target-modules", "q_proj,v_proj",
		"--eval-every", "2", "--save-every", "0", "--threads", "1", "--dist-timeout", "60s"}
}

// runCmd runs argv, returning stdout, stderr and the error.
func runCmd(t *testing.T, timeout time.Duration, env []string, argv ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return stdout.String(), stderr.String(), err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not finish within %v; stderr:\n%s", argv, timeout, stderr.String())
		return "", "", nil
	}
}

type runRecord struct {
	events []map[string]any
	losses []float64 // per step
	vals   []float64 // per eval
	types  []string
}

func readRun(t *testing.T, out string) runRecord {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(out, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var r runRecord
	r.events = parseEvents(t, string(raw))
	for _, ev := range r.events {
		r.types = append(r.types, ev["type"].(string))
		switch ev["type"] {
		case "step":
			r.losses = append(r.losses, ev["loss"].(float64))
		case "eval":
			r.vals = append(r.vals, ev["val_loss"].(float64))
		}
	}
	return r
}

func relDiff(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(a), 1e-12) }

// sameRun compares a data-parallel run with the lone one: events of the same types (unless the run
// was resumed), per-step losses and validation losses within 1e-4 (relative), and adapters within
// 1e-4 (relative L2).
func sameRun(t *testing.T, want, got string) {
	t.Helper()
	w, g := readRun(t, want), readRun(t, got)
	resumed := slices.ContainsFunc(g.events, func(ev map[string]any) bool { return ev["resumed"] == true })
	if !resumed && !slices.Equal(w.types, g.types) {
		t.Errorf("event types %v, the lone run's %v", g.types, w.types)
	}
	if len(w.losses) != 5 || len(g.losses) != 5 {
		t.Fatalf("step losses %v and %v, want 5 each", w.losses, g.losses)
	}
	for i := range w.losses {
		if d := relDiff(w.losses[i], g.losses[i]); d > 1e-4 || math.IsNaN(d) {
			t.Errorf("step %d: loss %.8f, the lone run's %.8f (relative difference %.2g > 1e-4)", i+1, g.losses[i], w.losses[i], d)
		}
	}
	if len(w.vals) == 0 || len(w.vals) != len(g.vals) {
		t.Fatalf("validation losses %v, the lone run's %v", g.vals, w.vals)
	}
	for i := range w.vals {
		if d := relDiff(w.vals[i], g.vals[i]); d > 1e-4 {
			t.Errorf("eval %d: val_loss %.8f, the lone run's %.8f", i, g.vals[i], w.vals[i])
		}
	}
	wa, ga := weights(t, want), weights(t, got)
	if len(wa) == 0 || len(wa) != len(ga) {
		t.Fatalf("the trained weights hold %d and %d tensors", len(wa), len(ga))
	}
	for name, a := range wa {
		b, ok := ga[name]
		if !ok || len(a) != len(b) {
			t.Errorf("%s: missing or of another size in the data-parallel adapter", name)
			continue
		}
		var diff, norm float64
		for i := range a {
			diff += (a[i] - b[i]) * (a[i] - b[i])
			norm += a[i] * a[i]
		}
		if norm == 0 && strings.Contains(name, "lora_B") {
			t.Errorf("%s is all zeros after training: the test would not see a difference", name)
		}
		if math.Sqrt(diff) > 1e-4*math.Sqrt(norm) {
			t.Errorf("%s: relative L2 difference %.2g > 1e-4", name, math.Sqrt(diff/norm))
		}
	}
}

// weights reads the run's adapter, or for --full its model, as float64s by name.
func weights(t *testing.T, run string) map[string][]float64 {
	t.Helper()
	path := filepath.Join(run, "adapter", lora.WeightsFile)
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(run, "model", "model.safetensors")
	}
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float64{}
	for _, n := range f.Names() {
		ts, err := f.Tensor(n)
		if err != nil || ts.DType != safetensors.F32 {
			t.Fatalf("%s: %v (dtype %s)", n, err, ts.DType)
		}
		v := make([]float64, len(ts.Data)/4)
		for i := range v {
			bits := uint32(ts.Data[4*i]) | uint32(ts.Data[4*i+1])<<8 | uint32(ts.Data[4*i+2])<<16 | uint32(ts.Data[4*i+3])<<24
			v[i] = float64(math.Float32frombits(bits))
		}
		out[n] = v
	}
	return out
}

func TestDistTrainMatchesOneProcess(t *testing.T) {
	needGloo(t)
	bin := trainerBinary(t)
	model, data := qwenVocabModel(t), distSplit(t)
	lone := filepath.Join(t.TempDir(), "lone")
	if _, stderr, err := runCmd(t, 5*time.Minute, nil, append([]string{bin}, distArgs(model, data, lone)...)...); err != nil {
		t.Fatalf("lone run: %v\n%s", err, stderr)
	}

	t.Run("nproc-per-node", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "run")
		stdout, stderr, err := runCmd(t, 5*time.Minute, nil, append(append([]string{bin}, distArgs(model, data, out)...), "--nproc-per-node", "2")...)
		if err != nil {
			t.Fatalf("--nproc-per-node 2: %v\n%s", err, stderr)
		}
		sameRun(t, lone, out)
		// Rank 0 alone reports on stdout and writes the run directory; rank 1 logs to stderr.
		disk, _ := os.ReadFile(filepath.Join(out, "events.jsonl"))
		if stdout != string(disk) {
			t.Errorf("stdout is not rank 0's events.jsonl:\n%s", stdout)
		}
		if !strings.Contains(stderr, `rank 1: {"type":"done"`) {
			t.Errorf("rank 1's events are not on stderr prefixed with its rank:\n%s", stderr)
		}
		var st struct {
			WorldSize int `json:"world_size"`
		}
		files, _ := filepath.Glob(filepath.Join(out, "checkpoints", "step-*", "trainer_state.json"))
		if len(files) != 1 {
			t.Fatalf("checkpoints %v, want the final one", files)
		}
		raw, _ := os.ReadFile(files[0])
		if json.Unmarshal(raw, &st); st.WorldSize != 2 {
			t.Errorf("the checkpoint records world size %d, want 2", st.WorldSize)
		}
		// A resume needs as many processes as trained the run.
		_, stderr, err = runCmd(t, 2*time.Minute, nil, bin, "train", "--out", out, "--resume")
		if err == nil || !strings.Contains(stderr, "was trained by 2 processes and this is one of 1; resume it with 2") {
			t.Errorf("a lone resume of a 2-process run: %v\n%s", err, stderr)
		}
	})

	// Interrupted after a step or two and resumed with the same world size, the run still computes
	// the lone run's losses and adapter.
	t.Run("interrupt-resume", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "run")
		cmd := exec.Command(bin, append(distArgs(model, data, out), "--nproc-per-node", "2")...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		var last map[string]any
		for sc.Scan() {
			json.Unmarshal(sc.Bytes(), &last)
			if last["type"] == "step" && last["step"] == 1.0 {
				cmd.Process.Signal(syscall.SIGINT)
			}
		}
		if err := cmd.Wait(); err != nil || last["status"] != "interrupted" {
			t.Fatalf("interrupting the pair: %v, last event %v\n%s", err, last, stderr.String())
		}
		if _, stderr, err := runCmd(t, 5*time.Minute, nil, bin, "train", "--out", out, "--resume", "--nproc-per-node", "2"); err != nil {
			t.Fatalf("resuming the pair: %v\n%s", err, stderr)
		}
		sameRun(t, lone, out)
	})

	// Full training sums its gradients in buckets: 1 MiB ones cut this model's (a 19 MiB embedding,
	// then small tensors) into several, and the embedding alone exceeds one.
	t.Run("full-buckets", func(t *testing.T) {
		full := func(out string) []string {
			a := distArgs(model, data, out)
			a[slices.Index(a, "--lr")+1] = "0.001"
			return append(a, "--full")
		}
		loneFull := filepath.Join(t.TempDir(), "lone")
		if _, stderr, err := runCmd(t, 5*time.Minute, nil, append([]string{bin}, full(loneFull)...)...); err != nil {
			t.Fatalf("lone --full run: %v\n%s", err, stderr)
		}
		out := filepath.Join(t.TempDir(), "run")
		if _, stderr, err := runCmd(t, 5*time.Minute, nil, append(append([]string{bin}, full(out)...), "--nproc-per-node", "2", "--dist-bucket-mb", "1")...); err != nil {
			t.Fatalf("--full --nproc-per-node 2: %v\n%s", err, stderr)
		}
		sameRun(t, loneFull, out)
	})

	t.Run("torchrun", func(t *testing.T) {
		torchrun, err := exec.LookPath("torchrun")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("torchrun not found (Debian's python3-torch installs it: make deps-test)")
			}
			t.Skip("torchrun not found (Debian's python3-torch installs it)")
		}
		out := filepath.Join(t.TempDir(), "run")
		// --redirects/--tee: Debian 12's torchrun (torch 1.13 on Python 3.11) cannot parse their
		// default "0" (docs/distributed.md); 2 is what the default does for stderr, and stdout stays.
		// Its default static rendezvous hosts the store in torchrun's agent (TORCHELASTIC_USE_AGENT_STORE).
		argv := append([]string{torchrun, "--redirects", "2", "--tee", "2", "--no_python", "--nproc_per_node", "2",
			"--master_port", strconv.Itoa(freePortT(t)), bin},
			distArgs(model, data, out)...)
		if _, stderr, err := runCmd(t, 5*time.Minute, nil, argv...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, stderr)
		}
		sameRun(t, lone, out)
	})
}

func freePortT(t *testing.T) int {
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDistTrainRankDies kills rank 1 of a running pair: the run must fail soon, long before the
// collective timeout, with the launcher's error naming rank 1 and rank 0's error event saying why.
func TestDistTrainRankDies(t *testing.T) {
	needGloo(t)
	bin := trainerBinary(t)
	model, data := qwenVocabModel(t), distSplit(t)
	out := filepath.Join(t.TempDir(), "run")
	args := distArgs(model, data, out)
	args[slices.Index(args, "--max-steps")+1] = "100000"
	args[slices.Index(args, "--dist-timeout")+1] = "5m"
	cmd := exec.Command(bin, append(args, "--nproc-per-node", "2")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var last map[string]any
	var stdoutText strings.Builder
	killed := time.Time{}
	for sc.Scan() {
		stdoutText.WriteString(sc.Text() + "\n")
		json.Unmarshal(sc.Bytes(), &last)
		if last["type"] == "step" && killed.IsZero() {
			pid := childWithEnv(t, cmd.Process.Pid, "RANK=1")
			syscall.Kill(pid, syscall.SIGKILL)
			killed = time.Now()
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the run went on after rank 1 was killed; stderr:\n%s", stderr.String())
	}
	if killed.IsZero() {
		t.Fatalf("no step event; stderr:\n%s", stderr.String())
	}
	if err == nil {
		t.Fatal("the launcher exited 0 after rank 1 was killed")
	}
	if !strings.Contains(stderr.String(), "rank 1 of 2 (pid ") || !strings.Contains(stderr.String(), "killed by signal killed") {
		t.Errorf("the launcher's error does not name the killed rank:\n%s", stderr.String())
	}
	// On stdout: rank 0's error event, then the launcher's, which names the rank.
	if last["type"] != "error" || !strings.Contains(fmt.Sprint(last["error"]), "rank 1 of 2 (pid ") {
		t.Errorf("the last event %v, want the launcher's error naming rank 1", last)
	}
	if !strings.Contains(stdoutText.String(), "another rank died") {
		t.Errorf("no error event from rank 0 saying another rank died:\n%s", stdoutText.String())
	}
	t.Logf("last event: %v\nlauncher: %s", last["error"], strings.TrimSpace(stderr.String()[strings.LastIndex(strings.TrimSpace(stderr.String()), "\n")+1:]))
	if s := time.Since(killed); s > time.Minute {
		t.Errorf("the run failed %v after the kill", s)
	}
}

// childWithEnv is the child process of parent whose environment holds kv (waits up to 10 s).
func childWithEnv(t *testing.T, parent int, kv string) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", parent, parent))
		for _, f := range strings.Fields(string(raw)) {
			pid, _ := strconv.Atoi(f)
			env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			if slices.Contains(strings.Split(string(env), "\x00"), kv) {
				return pid
			}
		}
	}
	t.Fatalf("no child of %d with %s", parent, kv)
	return 0
}

// The Kubernetes example (docs/k8s/pytorchjob.yaml) cannot run here; its command line must still be
// one the trainer accepts, with a global batch that its replicas can share.
func TestPyTorchJobManifest(t *testing.T) {
	path := filepath.Join(files.RepoRoot(t), "docs", "k8s", "pytorchjob.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Replicas map[string]struct {
				Replicas int `yaml:"replicas"`
				Template struct {
					Spec struct {
						Containers []struct {
							Name    string   `yaml:"name"`
							Command []string `yaml:"command"`
							Args    []string `yaml:"args"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"pytorchReplicaSpecs"`
		} `yaml:"spec"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&job); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if job.APIVersion != "kubeflow.org/v1" || job.Kind != "PyTorchJob" {
		t.Errorf("%s: %s %s, want kubeflow.org/v1 PyTorchJob", path, job.APIVersion, job.Kind)
	}
	if len(job.Spec.Replicas) != 2 || job.Spec.Replicas["Master"].Replicas != 1 || job.Spec.Replicas["Worker"].Replicas < 1 {
		t.Fatalf("%s: want one Master and Workers, got %+v", path, job.Spec.Replicas)
	}
	world := job.Spec.Replicas["Master"].Replicas + job.Spec.Replicas["Worker"].Replicas
	for role, spec := range job.Spec.Replicas {
		cs := spec.Template.Spec.Containers
		if len(cs) != 1 || cs[0].Name != "pytorch" {
			t.Fatalf("%s: %s wants one container named pytorch (the operator's name), got %+v", path, role, cs)
		}
		c := cs[0]
		if len(c.Command) != 1 || filepath.Base(c.Command[0]) != "trainer" || len(c.Args) == 0 || c.Args[0] != "train" {
			t.Fatalf("%s: %s runs %q %q, want the trainer's train verb", path, role, c.Command, c.Args)
		}
		cfg := sft.Defaults()
		var resume bool
		var df distFlags
		fl := trainFlags(&cfg, &resume, &df)
		fl.SetOutput(io.Discard)
		if err := fl.Parse(c.Args[1:]); err != nil || fl.NArg() > 0 {
			t.Fatalf("%s: %s: trainer train does not accept %q: %v (left over %q)", path, role, c.Args[1:], err, fl.Args())
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %s: %v", path, role, err)
		}
		if df.nproc != 1 {
			t.Errorf("%s: %s: --nproc-per-node %d: the operator starts the processes, one per pod", path, role, df.nproc)
		}
		if cfg.BatchSize%world != 0 {
			t.Errorf("%s: --batch-size %d does not divide by the %d replicas", path, cfg.BatchSize, world)
		}
	}
}

// TestDistTrainSignal interrupts a --nproc-per-node pair through its launcher: both ranks must stop
// after the same step, rank 0 must save a checkpoint there and report "interrupted", and all exit 0.
func TestDistTrainSignal(t *testing.T) {
	needGloo(t)
	bin := trainerBinary(t)
	model, data := qwenVocabModel(t), distSplit(t)
	out := filepath.Join(t.TempDir(), "run")
	args := distArgs(model, data, out)
	args[slices.Index(args, "--max-steps")+1] = "100000"
	cmd := exec.Command(bin, append(args, "--nproc-per-node", "2")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var last map[string]any
	sent := false
	for sc.Scan() {
		json.Unmarshal(sc.Bytes(), &last)
		if last["type"] == "step" && !sent {
			cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("no exit after SIGINT; stderr:\n%s", stderr.String())
	}
	if err != nil {
		t.Fatalf("exit after SIGINT: %v; stderr:\n%s", err, stderr.String())
	}
	if last["type"] != "done" || last["status"] != "interrupted" {
		t.Fatalf("rank 0's last event %v, want done/interrupted", last)
	}
	step := int(last["step"].(float64))
	if _, err := os.Stat(filepath.Join(out, "checkpoints", "step-"+itoa(step), "trainer_state.json")); err != nil {
		t.Errorf("no checkpoint at the interrupted step %d: %v", step, err)
	}
	var rank1 map[string]any
	for _, line := range strings.Split(stderr.String(), "\n") {
		if ev, ok := strings.CutPrefix(line, "rank 1: "); ok && strings.Contains(ev, `"type":"done"`) {
			json.Unmarshal([]byte(ev), &rank1)
		}
	}
	if rank1["status"] != "interrupted" || rank1["step"] != last["step"] {
		t.Errorf("rank 1 ended with %v, want done/interrupted at step %d too; stderr:\n%s", rank1, step, stderr.String())
	}
}

func TestReadDistEnv(t *testing.T) {
	set := func(kv ...string) {
		for _, k := range []string{"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT"} {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
		for i := 0; i < len(kv); i += 2 {
			t.Setenv(kv[i], kv[i+1])
		}
	}
	set()
	if e, err := readDistEnv(); err != nil || e.world != 1 {
		t.Errorf("no variables: %+v, %v; want alone", e, err)
	}
	set("WORLD_SIZE", "4", "RANK", "3", "LOCAL_RANK", "1", "MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "29500",
		"TORCHELASTIC_USE_AGENT_STORE", "True", "TORCHELASTIC_RESTART_COUNT", "2")
	want := distEnv{rank: 3, localRank: 1, world: 4, port: 29500, addr: "10.0.0.1", agentPrefix: "/worker/attempt_2"}
	if e, err := readDistEnv(); err != nil || e != want {
		t.Errorf("torchrun's variables: %+v, %v; want %+v", e, err, want)
	}
	for _, c := range []struct {
		kv   []string
		want string
	}{
		{[]string{"WORLD_SIZE", "2", "MASTER_ADDR", "h", "MASTER_PORT", "1"}, "RANK is not set"},
		{[]string{"WORLD_SIZE", "2", "RANK", "0", "MASTER_PORT", "1"}, "MASTER_ADDR is not set"},
		{[]string{"WORLD_SIZE", "2", "RANK", "2", "MASTER_ADDR", "h", "MASTER_PORT", "1"}, "RANK=2 outside WORLD_SIZE=2"},
		{[]string{"WORLD_SIZE", "two"}, `WORLD_SIZE="two": want a non-negative integer`},
		{[]string{"WORLD_SIZE", "2", "RANK", "0", "MASTER_ADDR", "h", "MASTER_PORT", "70000"}, "MASTER_PORT=70000 outside 1..65535"},
	} {
		set(c.kv...)
		if _, err := readDistEnv(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.kv, err, c.want)
		}
	}
}

func TestWithoutFlag(t *testing.T) {
	for _, args := range [][]string{
		{"--out", "r", "--nproc-per-node", "2", "--lr", "1"},
		{"--out", "r", "-nproc-per-node=2", "--lr", "1"},
		{"--nproc-per-node", "2", "--out", "r", "--lr", "1"},
	} {
		if got := withoutFlag(args, "nproc-per-node"); !slices.Contains(got, "r") || len(got) != 4 || slices.ContainsFunc(got, func(a string) bool { return strings.Contains(a, "nproc") }) {
			t.Errorf("withoutFlag(%q) = %q", args, got)
		}
	}
}

// A global batch that the processes cannot share equally is refused before any worker starts.
func TestNprocBatchMustDivide(t *testing.T) {
	stdout, err := runVerbQuiet(t, runTrain, "--model", t.TempDir(), "--data", t.TempDir(), "--out", filepath.Join(t.TempDir(), "r"),
		"--batch-size", "4", "--nproc-per-node", "3")
	const want = "--batch-size 4: the global batch must divide by the 3 processes"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("batch 4 over 3 processes: %v", err)
	}
	if !strings.Contains(stdout, `{"type":"error",`) || !strings.Contains(stdout, want) {
		t.Errorf("no error event on stdout: %q", stdout)
	}
}
