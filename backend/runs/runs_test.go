package runs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"medqa/backend/runs/faketrainer"
	"medqa/files/testkit"
	"medqa/trainer/runspec"
)

const crashServerEnv = "MEDQA_TEST_CRASH_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(faketrainer.EnvVar) != "" {
		os.Exit(faketrainer.Main())
	}
	if dir := os.Getenv(crashServerEnv); dir != "" {
		crashServer(dir) // never returns: killed by the test
	}
	os.Exit(m.Run())
}

func fakeLauncher(extraEnv ...string) Launcher {
	return Local{Command: []string{os.Args[0]}, Env: append([]string{faketrainer.EnvVar + "=1"}, extraEnv...)}
}

// testRoots lets runs read the temporary directories the tests make.
var testRoots = []string{os.TempDir()}

func testConfig(t *testing.T, steps int) Config {
	base, data := t.TempDir(), t.TempDir()
	return Config{BaseModel: base, Data: data, MaxSteps: steps}
}

func open(t *testing.T, dir string, l Launcher) *Manager {
	m, err := Open(Options{Dir: dir, Launcher: l, KillAfter: 5 * time.Second, Roots: testRoots})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func status(t *testing.T, m *Manager, id int64) string {
	r, err := m.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

func stepsOf(evs []runspec.Record) []int64 {
	var s []int64
	for _, e := range evs {
		if e.Type == runspec.EventStep {
			s = append(s, *e.Step)
		}
	}
	return s
}

func TestValidationNamesFields(t *testing.T) {
	m := open(t, t.TempDir(), fakeLauncher())
	defer m.Shutdown(context.Background())
	neg := -0.1
	_, err := m.Submit(Config{Data: "/nonexistent", LR: 2, Epochs: 1, MaxSteps: 3, LoRADropout: &neg,
		TargetModules: []string{"q_proj", "v-proj;rm"}, Pipeline: []string{"quantize", "evaluate"}, QuantizeBits: 3})
	var ve ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a ValidationError", err)
	}
	for _, f := range []string{"base_model", "data", "lr", "max_steps", "lora_dropout", "target_modules[1]", "pipeline[1]", "quantize_bits"} {
		if !strings.Contains(err.Error(), f+":") {
			t.Errorf("error %q does not name %s", err, f)
		}
	}
	if runs, _ := m.List(); len(runs) != 0 {
		t.Fatal("an invalid run was stored")
	}
}

func TestArgsFollowTrainerFlags(t *testing.T) {
	c := Config{BaseModel: "/m", Data: "/d", MaxSteps: 7}
	c.BaseModel, c.Data = t.TempDir(), t.TempDir()
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Args("train", "/r", true), " ")
	want := fmt.Sprintf("train --model %s --data %s --out /r --lr 0.0002 --batch-size 8 --grad-accum 1 --max-length 512 --seed 42 --max-steps 7 --lora-r 16 --lora-alpha 32 --lora-dropout 0.05 --target-modules all-linear --resume", c.BaseModel, c.Data)
	if got != want {
		t.Fatalf("train args\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(c.Args("quantize", "/r", false), " "); got != "quantize --model /r/merged --out /r/int8 --bits 8" {
		t.Fatalf("quantize args: %s", got)
	}
	// Processes: 1 by default (nothing passed, the trainer's default); more go to --nproc-per-node.
	if c.Processes != 1 {
		t.Errorf("processes defaults to %d, want 1", c.Processes)
	}
	c.Processes = 2
	if got := strings.Join(c.Args("train", "/r", false), " "); !strings.HasSuffix(got, " --target-modules all-linear --nproc-per-node 2") {
		t.Errorf("train args with 2 processes: %s", got)
	}
	c.Processes = 3 // the batch size, 8, does not divide by 3
	if err := c.Normalize(); err == nil || !strings.Contains(err.Error(), "processes: the batch size 8 (the global batch) must divide by the 3 processes") {
		t.Errorf("3 processes for a batch of 8: %v", err)
	}
}

func TestLifeCycleCancelResumeFinish(t *testing.T) {
	dir := t.TempDir()
	m := open(t, dir, fakeLauncher(faketrainer.StepEnv+"=10ms"))
	defer m.Shutdown(context.Background())
	r, err := m.Submit(testConfig(t, 30))
	if err != nil {
		t.Fatal(err)
	}
	backlog, live, stop, err := m.Subscribe(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Follow the events until step 7, then cancel.
	var seen []runspec.Record
	seen = append(seen, backlog...)
	for len(stepsOf(seen)) < 7 {
		seen = append(seen, <-live)
	}
	if err := m.Cancel(r.ID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "cancelled", func() bool { return status(t, m, r.ID) == StatusCancelled })
	evs, _ := m.Events(r.ID, 0)
	var ckpt int64 = -1
	for _, e := range evs {
		if e.Type == runspec.EventCheckpoint {
			ckpt = *e.Step
		}
	}
	if ckpt < 7 {
		t.Fatalf("cancel did not checkpoint at the current step (last checkpoint %d)", ckpt)
	}
	if err := m.Cancel(r.ID); err == nil {
		t.Fatal("cancelling a cancelled run succeeded")
	}

	if err := m.Resume(r.ID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "succeeded", func() bool { return status(t, m, r.ID) == StatusSucceeded })
	got, _ := m.Get(r.ID)
	evs, _ = m.Events(r.ID, 0)
	steps := stepsOf(evs)
	// Steps run 1..k, then the resumed trainer continues from the checkpoint: k is the
	// checkpoint, so every step 1..30 appears exactly once.
	for i, s := range steps {
		if s != int64(i+1) {
			t.Fatalf("steps %v: not 1..30 exactly once across cancel and resume", steps)
		}
	}
	if len(steps) != 30 || got.Metrics.Step != 30 || *got.Metrics.Loss != faketrainer.Loss(30) || got.Attempts != 2 {
		t.Fatalf("after finish: %d steps, metrics %+v, attempts %d", len(steps), got.Metrics, got.Attempts)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
	var stages []string
	for _, e := range evs {
		if e.Type == runspec.EventDone {
			stages = append(stages, e.Stage)
		}
	}
	if strings.Join(stages, ",") != "train,evaluate,merge,quantize" {
		t.Fatalf("pipeline stages done: %v", stages)
	}
	models, _ := m.Models()
	kinds := map[string]Model{}
	for _, x := range models {
		kinds[x.Kind] = x
	}
	if kinds["merged"].Path != filepath.Join(got.Dir, "merged") || kinds["int8"].Path != filepath.Join(got.Dir, "int8") || kinds["adapter"].Adapter != filepath.Join(got.Dir, "adapter") {
		t.Fatalf("models %+v", models)
	}
	if err := m.SetActive(kinds["merged"].ID); err != nil {
		t.Fatal(err)
	}
	if a, ok, _ := m.Active(); !ok || a.ID != kinds["merged"].ID {
		t.Fatalf("active model %+v %v", a, ok)
	}
	if len(got.Checkpoints) == 0 {
		t.Fatal("no checkpoints listed")
	}
}

func TestOneRunAtATimeAndQueuedCancel(t *testing.T) {
	m := open(t, t.TempDir(), fakeLauncher(faketrainer.StepEnv+"=5ms"))
	defer m.Shutdown(context.Background())
	cfg := testConfig(t, 20)
	cfg.Pipeline = []string{}
	a, _ := m.Submit(cfg)
	b, _ := m.Submit(cfg)
	c, _ := m.Submit(cfg)
	if err := m.Cancel(c.ID); err != nil || status(t, m, c.ID) != StatusCancelled {
		t.Fatalf("cancel a queued run: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, "a running", func() bool { return status(t, m, a.ID) == StatusRunning })
	if s := status(t, m, b.ID); s != StatusQueued {
		t.Fatalf("second run is %s while the first runs", s)
	}
	testkit.Eventually(t, 10*time.Second, "b done", func() bool { return status(t, m, b.ID) == StatusSucceeded })
	ra, _ := m.Get(a.ID)
	rb, _ := m.Get(b.ID)
	if ra.Status != StatusSucceeded || rb.StartedAt.Before(*ra.FinishedAt) {
		t.Fatalf("runs overlapped: a %+v, b %+v", ra, rb)
	}
	if s := status(t, m, c.ID); s != StatusCancelled {
		t.Fatalf("cancelled queued run ran: %s", s)
	}
}

func TestFailedRunReportsTrainerError(t *testing.T) {
	m := open(t, t.TempDir(), fakeLauncher(faketrainer.StepEnv+"=1ms", faketrainer.FailEnv+"=4"))
	defer m.Shutdown(context.Background())
	r, _ := m.Submit(testConfig(t, 10))
	testkit.Eventually(t, 10*time.Second, "failed", func() bool { return status(t, m, r.ID) == StatusFailed })
	got, _ := m.Get(r.ID)
	if got.Error != "fake failure at step 4" {
		t.Fatalf("error %q", got.Error)
	}
	if err := m.Resume(r.ID); err != nil {
		t.Fatalf("failed runs are resumable: %v", err)
	}
}

func TestShutdownInterruptsAndResumeAfterRestart(t *testing.T) {
	dir := t.TempDir()
	m := open(t, dir, fakeLauncher(faketrainer.StepEnv+"=10ms"))
	cfg := testConfig(t, 25)
	cfg.Pipeline = []string{}
	r, _ := m.Submit(cfg)
	testkit.Eventually(t, 10*time.Second, "some steps", func() bool { g, _ := m.Get(r.ID); return g.Metrics.Step >= 3 })
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	m2 := open(t, dir, fakeLauncher(faketrainer.StepEnv+"=1ms"))
	defer m2.Shutdown(context.Background())
	if s := status(t, m2, r.ID); s != StatusInterrupted {
		t.Fatalf("after shutdown: %s, want interrupted", s)
	}
	if err := m2.Resume(r.ID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "succeeded", func() bool { return status(t, m2, r.ID) == StatusSucceeded })
	evs, _ := m2.Events(r.ID, 0)
	if s := stepsOf(evs); len(s) != 25 || s[24] != 25 {
		t.Fatalf("steps after resume: %v", s)
	}
}

// crashServer is a stand-in server process: it opens the store, starts a long run and
// waits to be killed with SIGKILL.
func crashServer(dir string) {
	base, _ := os.MkdirTemp("", "base")
	m, err := Open(Options{Dir: dir, Launcher: fakeLauncher(faketrainer.StepEnv + "=5ms"), Roots: testRoots})
	if err != nil {
		panic(err)
	}
	if _, err := m.Submit(Config{BaseModel: base, Data: base, MaxSteps: 100000, Pipeline: []string{}}); err != nil {
		panic(err)
	}
	select {}
}

func TestCrashDuringRunLeavesStoreConsistent(t *testing.T) {
	dir := t.TempDir()
	srv := exec.Command(os.Args[0], "-test.run=^$")
	srv.Env = append(os.Environ(), crashServerEnv+"="+dir)
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "medqa.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testkit.Eventually(t, 10*time.Second, "the crash server's run to make progress", func() bool {
		var n int
		db.QueryRow(`SELECT COUNT(*) FROM events WHERE run_id = 1`).Scan(&n)
		return n >= 20
	})
	srv.Process.Kill() // SIGKILL: no cleanup at all, mid-write for all we know
	srv.Wait()
	db.Close()
	// The orphaned trainer dies of SIGPIPE at its next event; give it a few steps.
	time.Sleep(50 * time.Millisecond)

	m := open(t, dir, fakeLauncher(faketrainer.StepEnv+"=1ms"))
	defer m.Shutdown(context.Background())
	var check string
	if err := m.st.db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	r, err := m.Get(1)
	if err != nil || r.Status != StatusInterrupted {
		t.Fatalf("after the crash: %+v %v; want interrupted", r.Status, err)
	}
	evs, err := m.Events(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: events lost or duplicated", i, e.Seq)
		}
	}
	if r.Metrics.Step == 0 || r.Metrics.Step != stepsOf(evs)[len(stepsOf(evs))-1] {
		t.Fatalf("metrics %+v disagree with the stored events", r.Metrics)
	}
}

func TestEvaluateAgain(t *testing.T) {
	m := open(t, t.TempDir(), fakeLauncher(faketrainer.StepEnv+"=1ms"))
	defer m.Shutdown(context.Background())
	cfg := testConfig(t, 5)
	cfg.Pipeline = []string{"merge"} // no evaluate stage: the evaluation is asked for afterwards
	r, err := m.Submit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var se *StateError
	if err := m.Evaluate(r.ID); !errors.As(err, &se) {
		t.Errorf("evaluating a run that has not succeeded: %v, want a StateError", err)
	}
	testkit.Eventually(t, 10*time.Second, "succeeded", func() bool { return status(t, m, r.ID) == StatusSucceeded })
	if _, err := m.Report(r.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("report before any evaluation: %v", err)
	}
	before, _ := m.Events(r.ID, 0)
	if err := m.Evaluate(r.ID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the evaluation", func() bool {
		g, _ := m.Get(r.ID)
		return g.Status == StatusSucceeded && g.Only == ""
	})
	after, _ := m.Events(r.ID, before[len(before)-1].Seq)
	var stages []string
	for _, e := range after {
		if e.Stage != "evaluate" {
			t.Errorf("event of stage %q during the evaluation: %+v", e.Stage, e)
		}
		stages = append(stages, e.Type+":"+e.Status)
	}
	if got := strings.Join(stages, " "); !strings.HasPrefix(got, "status:queued status:running") || !strings.HasSuffix(got, "status:succeeded") || !strings.Contains(got, "eval:") {
		t.Errorf("evaluation events: %s", got)
	}
	if _, err := m.Report(r.ID); err != nil {
		t.Errorf("report after the evaluation: %v", err)
	}
	if ms, _ := m.Models(); len(ms) != 2 { // adapter and merged, not registered twice
		t.Errorf("models %+v", ms)
	}

	full := testConfig(t, 2)
	full.Full, full.Pipeline = true, nil
	f, err := m.Submit(full)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the full run", func() bool { return status(t, m, f.ID) == StatusSucceeded })
	if err := m.Evaluate(f.ID); !errors.As(err, &se) {
		t.Errorf("evaluating a full run: %v, want a StateError", err)
	}
}

// The run store and the trainers' logs hold what admins typed and what trainers printed:
// nobody but the server's user may read them, whatever the umask.
func TestDataDirIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(dir, 0o755) // as an older server left it
	m := open(t, dir, fakeLauncher())
	r, err := m.Submit(testConfig(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "succeeded", func() bool { return status(t, m, r.ID) == StatusSucceeded })
	m.Shutdown(context.Background())
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		// The data dir, runs/ and runs/<id>/ (what the trainer publishes inside is its own).
		depth := strings.Count(strings.TrimPrefix(p, dir), string(filepath.Separator))
		if strings.HasPrefix(d.Name(), "medqa.db") || d.Name() == "trainer.log" || d.IsDir() && depth <= 2 {
			n++
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
			}
		}
		return nil
	})
	if n < 4 {
		t.Fatalf("checked only %d paths", n)
	}
}

// Issue 16: a trainer line over the scanner's 4 MiB ended the reading; the trainer then
// blocked on a full pipe and the run hung. Now the line is reported and reading goes on.
func TestLongTrainerLineIsReportedAndReadingGoesOn(t *testing.T) {
	m := open(t, t.TempDir(), fakeLauncher(faketrainer.StepEnv+"=1ms", faketrainer.LongLineEnv+"=5000000"))
	defer m.Shutdown(context.Background())
	cfg := testConfig(t, 5)
	cfg.Pipeline = []string{}
	r, err := m.Submit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, "succeeded", func() bool { return status(t, m, r.ID) == StatusSucceeded })
	evs, _ := m.Events(r.ID, 0)
	if s := stepsOf(evs); len(s) != 5 {
		t.Fatalf("steps %v, want all 5 (those after the long line too)", s)
	}
	reported := false
	for _, ev := range evs {
		reported = reported || ev.Type == runspec.EventLog && strings.Contains(ev.Message, "5000001 bytes")
	}
	if !reported {
		t.Fatal("the skipped line is not reported in the run's events")
	}
}

func TestStuckTrainerDoesNotStallTheQueue(t *testing.T) {
	dir := t.TempDir()
	m, err := Open(Options{Dir: dir, Roots: testRoots, StallAfter: 300 * time.Millisecond, KillAfter: 300 * time.Millisecond,
		Launcher: fakeLauncher(faketrainer.StepEnv+"=1ms", faketrainer.HangAtEnv+"=3")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	cfg := testConfig(t, 5)
	cfg.Pipeline = []string{}
	stuck, _ := m.Submit(cfg)
	next, _ := m.Submit(cfg)
	testkit.Eventually(t, 20*time.Second, "stuck run failed", func() bool { return status(t, m, stuck.ID) == StatusFailed })
	if got, _ := m.Get(stuck.ID); !strings.Contains(got.Error, "printed nothing") {
		t.Fatalf("stuck run's error: %q", got.Error)
	}
	// The next run starts (and, hanging the same way, is stopped the same way).
	testkit.Eventually(t, 20*time.Second, "next run done", func() bool { return status(t, m, next.ID) == StatusFailed })
}

// Evaluation prints its progress on stderr only: that is proof of life too.
func TestTrainerBusyOnStderrIsNotStalled(t *testing.T) {
	m, err := Open(Options{Dir: t.TempDir(), Roots: testRoots, StallAfter: time.Second,
		Launcher: fakeLauncher(faketrainer.StepEnv+"=1500ms", faketrainer.ProgressEnv+"=100ms")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	cfg := testConfig(t, 2)
	cfg.Pipeline = []string{}
	r, _ := m.Submit(cfg)
	testkit.Eventually(t, 30*time.Second, "finished", func() bool { s := status(t, m, r.ID); return s == StatusSucceeded || s == StatusFailed })
	if got, _ := m.Get(r.ID); got.Status != StatusSucceeded {
		t.Fatalf("a trainer writing progress to stderr was stopped: %s %q", got.Status, got.Error)
	}
}
