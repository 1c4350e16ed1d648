// Package runs launches training runs and their follow-up pipeline (evaluate → merge →
// quantize) one at a time through a Launcher, keeps runs, events and models in SQLite,
// and fans events out to subscribers.
package runs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"medqa/trainer/runspec"
)

// Options configures Open.
type Options struct {
	Dir       string        // data directory: medqa.db and runs/<id>/
	Launcher  Launcher      //
	KillAfter time.Duration // after asking a trainer to stop, kill it if it has not exited; 0: 2 min
	Logger    *slog.Logger
	// Roots are the directories a run's base_model and data must lie under (symbolic links
	// resolved), so that an admin session cannot point the trainer at the whole disk.
	// nil: Dir only.
	Roots []string
	// MaxQueued bounds the runs waiting to start (submitted or resumed); 0: 16.
	MaxQueued int
	// StallAfter is how long a trainer may print nothing before it is stopped (interrupt,
	// then kill after KillAfter) and the run fails, so a stuck child cannot hold the queue;
	// 0: 30 min (the trainer reports every logging step and every evaluation).
	StallAfter time.Duration
}

// MaxEventLine is the longest trainer output line the server reads as an event; a longer
// one is reported in the run's events and skipped, and reading goes on.
const MaxEventLine = 4 << 20

// ErrQueueFull refuses a run while MaxQueued runs are already waiting (HTTP 429).
var ErrQueueFull = errors.New("too many runs are queued; wait for some to start or cancel them")

// StateError says a run is not in a state that allows the action (HTTP 409).
type StateError struct{ Msg string }

func (e *StateError) Error() string { return e.Msg }

// Manager owns the run store and the one running trainer.
type Manager struct {
	opt Options
	st  *store
	log *slog.Logger

	mu       sync.Mutex
	cur      *running
	subs     map[int64]map[chan runspec.Record]struct{}
	watchers []func(runspec.Record)
	stopping bool

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

type running struct {
	id        int64
	proc      Process
	cancel    bool // the admin asked to cancel
	metrics   Metrics
	killTimer *time.Timer
	stalled   bool // the watchdog stopped it: no output for StallAfter
}

// Open opens (or creates) the store under opt.Dir, marks runs left running by a previous
// process as interrupted, and starts the scheduler.
func Open(opt Options) (*Manager, error) {
	if opt.KillAfter == 0 {
		opt.KillAfter = 2 * time.Minute
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Roots == nil {
		opt.Roots = []string{opt.Dir}
	}
	if opt.MaxQueued == 0 {
		opt.MaxQueued = 16
	}
	if opt.StallAfter == 0 {
		opt.StallAfter = 30 * time.Minute
	}
	// The run store and the trainers' logs are the admin's: private to the server's user.
	if err := os.MkdirAll(filepath.Join(opt.Dir, "runs"), 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(opt.Dir, 0o700); err != nil {
		return nil, err
	}
	st, err := openStore(opt.Dir)
	if err != nil {
		return nil, err
	}
	n, err := st.recover()
	if err != nil {
		st.close()
		return nil, err
	}
	m := &Manager{opt: opt, st: st, log: opt.Logger, subs: map[int64]map[chan runspec.Record]struct{}{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	if n > 0 {
		m.log.Warn("runs interrupted by the last shutdown; resume them from the admin page", "count", n)
	}
	go m.loop()
	return m, nil
}

func (m *Manager) runDir(id int64) string {
	return filepath.Join(m.opt.Dir, "runs", strconv.FormatInt(id, 10))
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Submit validates cfg (a ValidationError names each bad field) and queues a run.
func (m *Manager) Submit(cfg Config) (Run, error) {
	if err := cfg.Validate(m.opt.Roots); err != nil {
		return Run{}, err
	}
	if err := m.roomInQueue(); err != nil {
		return Run{}, err
	}
	id, err := m.st.create(cfg, m.runDir)
	if err != nil {
		return Run{}, err
	}
	m.note(id, "train", StatusQueued, "")
	m.poke()
	return m.st.get(id)
}

// roomInQueue refuses one more queued run when MaxQueued are waiting. Two admins racing may
// overshoot by one; the bound is against a flood, not exact.
func (m *Manager) roomInQueue() error {
	n, err := m.st.countStatus(StatusQueued)
	if err != nil {
		return err
	}
	if n >= m.opt.MaxQueued {
		return ErrQueueFull
	}
	return nil
}

// List returns every run, newest first.
func (m *Manager) List() ([]Run, error) { return m.st.list() }

// Get returns a run with its checkpoints.
func (m *Manager) Get(id int64) (Run, error) {
	r, err := m.st.get(id)
	if err != nil {
		return r, err
	}
	evs, err := m.st.events(id, 0)
	if err != nil {
		return r, err
	}
	for _, ev := range evs {
		if ev.Type == runspec.EventCheckpoint && ev.Path != "" && !slices.Contains(r.Checkpoints, ev.Path) {
			r.Checkpoints = append(r.Checkpoints, ev.Path)
		}
	}
	return r, nil
}

// Events returns a run's events after sequence number after.
func (m *Manager) Events(id, after int64) ([]runspec.Record, error) {
	if _, err := m.st.get(id); err != nil {
		return nil, err
	}
	return m.st.events(id, after)
}

// Detail is a run with its events and the models it produced (GET /api/runs/{id}).
type Detail struct {
	Run    Run              `json:"run"`
	Events []runspec.Record `json:"events"`
	Models []Model          `json:"models"`
}

// Detail returns the run, its events after seq after, and its models.
func (m *Manager) Detail(id, after int64) (Detail, error) {
	r, err := m.Get(id)
	if err != nil {
		return Detail{}, err
	}
	evs, err := m.Events(id, after)
	if err != nil {
		return Detail{}, err
	}
	models, err := m.Models()
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Run: r, Events: evs, Models: []Model{}}
	if d.Events == nil {
		d.Events = []runspec.Record{}
	}
	for _, x := range models {
		if x.RunID == id {
			d.Models = append(d.Models, x)
		}
	}
	return d, nil
}

// Report returns the run's evaluation report: the report.json that `trainer eval` wrote in
// its eval/ folder (ErrNotFound before the evaluate stage has finished).
func (m *Manager) Report(id int64) ([]byte, error) {
	r, err := m.st.get(id)
	if err != nil {
		return nil, err
	}
	if r.Dir == "" {
		return nil, ErrNotFound
	}
	b, err := os.ReadFile(filepath.Join(r.Dir, "eval", "report.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return b, err
}

// Cancel stops a run: a queued one at once; a running one is asked to checkpoint and exit
// (and killed if it has not after KillAfter).
func (m *Manager) Cancel(id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur != nil && m.cur.id == id {
		if m.cur.cancel {
			return nil
		}
		m.cur.cancel = true
		m.st.setStatus(id, StatusCancelling, "", StatusRunning)
		m.interruptLocked()
		go m.note(id, "", StatusCancelling, "") // record takes m.mu
		return nil
	}
	ok, err := m.st.setStatus(id, StatusCancelled, "", StatusQueued)
	if err != nil {
		return err
	}
	if !ok {
		return m.refused(id, "only queued or running runs can be cancelled")
	}
	go m.note(id, "", StatusCancelled, "")
	return nil
}

// refused is the error for a status update that did not apply: it names the run's status now.
func (m *Manager) refused(id int64, only string) error {
	r, err := m.st.get(id)
	if err != nil {
		return err
	}
	return &StateError{fmt.Sprintf("run %d is %s; %s", id, r.Status, only)}
}

// interruptLocked signals the current trainer and arms the kill timer.
func (m *Manager) interruptLocked() {
	c := m.cur
	if c.proc == nil {
		return // not launched yet; execute checks c.cancel right after launching
	}
	if err := c.proc.Interrupt(); err != nil {
		m.log.Warn("interrupting trainer", "run", c.id, "err", err)
	}
	if c.killTimer == nil {
		p := c.proc
		c.killTimer = time.AfterFunc(m.opt.KillAfter, func() {
			m.log.Warn("trainer did not exit after interrupt; killing it", "run", c.id)
			p.Kill()
		})
	}
}

// Resume queues a cancelled, interrupted or failed run again; training continues from its
// last checkpoint (--resume), a later stage starts over.
func (m *Manager) Resume(id int64) error {
	if err := m.roomInQueue(); err != nil {
		return err
	}
	// Status and resume flag in one update: the scheduler may pick the run up at once.
	ok, err := m.st.requeueResume(id, StatusCancelled, StatusInterrupted, StatusFailed)
	if err != nil {
		return err
	}
	if !ok {
		return m.refused(id, "only cancelled, interrupted or failed runs can be resumed")
	}
	m.note(id, "", StatusQueued, "resume")
	m.poke()
	return nil
}

// Evaluate queues a succeeded LoRA run's evaluate stage on its own: again (after changing the
// test split, say), or for the first time when its pipeline left it out. The run is succeeded
// again when the evaluation passes; a failed or cancelled one can be resumed, which retries the
// evaluation alone.
func (m *Manager) Evaluate(id int64) error {
	r, err := m.st.get(id)
	if err != nil {
		return err
	}
	if r.Config.Full {
		return &StateError{fmt.Sprintf("run %d trained every weight; the evaluate stage evaluates adapters (use trainer eval on its model)", id)}
	}
	ok, err := m.st.queueOnly(id, "evaluate")
	if err != nil {
		return err
	}
	if !ok {
		return &StateError{fmt.Sprintf("run %d is %s; only succeeded runs can be evaluated again", id, r.Status)}
	}
	m.note(id, "evaluate", StatusQueued, "evaluate")
	m.poke()
	return nil
}

// Subscribe returns the run's stored events and a channel of later ones (which may repeat
// some of the stored ones: skip seq <= the last one seen). The channel is closed if the
// subscriber falls too far behind; it can subscribe again. Call stop when done.
func (m *Manager) Subscribe(id int64) (backlog []runspec.Record, live <-chan runspec.Record, stop func(), err error) {
	if _, err := m.st.get(id); err != nil {
		return nil, nil, nil, err
	}
	ch := make(chan runspec.Record, 256)
	m.mu.Lock()
	if m.subs[id] == nil {
		m.subs[id] = map[chan runspec.Record]struct{}{}
	}
	m.subs[id][ch] = struct{}{}
	m.mu.Unlock()
	stop = func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, ok := m.subs[id][ch]; ok {
			delete(m.subs[id], ch)
			close(ch)
		}
	}
	backlog, err = m.st.events(id, 0)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return backlog, ch, stop, nil
}

// record stores an event of the run and hands it to subscribers.
func (m *Manager) record(ev runspec.Record) {
	ev.Time = time.Now().UTC()
	m.mu.Lock()
	met := Metrics{}
	if m.cur != nil && m.cur.id == ev.RunID {
		updateMetrics(&m.cur.metrics, ev)
		met = m.cur.metrics
	} else if r, err := m.st.get(ev.RunID); err == nil {
		met = r.Metrics
	}
	m.mu.Unlock()
	if err := m.st.appendEvent(&ev, met); err != nil {
		m.log.Error("storing a run event", "run", ev.RunID, "err", err)
		return
	}
	m.mu.Lock()
	for ch := range m.subs[ev.RunID] {
		select {
		case ch <- ev:
		default: // too slow: drop it rather than stall training
			delete(m.subs[ev.RunID], ch)
			close(ch)
		}
	}
	watchers := m.watchers
	m.mu.Unlock()
	for _, w := range watchers {
		w(ev)
	}
}

// Watch calls fn with every event stored from now on (metrics); fn must not block.
func (m *Manager) Watch(fn func(runspec.Record)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.watchers = append(slices.Clone(m.watchers), fn)
}

// Running says which run holds the trainer now, if any.
func (m *Manager) Running() (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == nil {
		return 0, false
	}
	return m.cur.id, true
}

// note records the server's own status event for a run.
// Status is the run's new status; msg (may be empty) says why.
func (m *Manager) note(id int64, stage, status, msg string) {
	m.record(runspec.Record{RunID: id, Stage: stage, Type: runspec.EventStatus, Status: status, Message: status + msgSuffix(msg)})
}

func updateMetrics(met *Metrics, ev runspec.Record) {
	if ev.Step != nil {
		met.Step = *ev.Step
	}
	set := func(dst **float64, v *float64) {
		if v != nil {
			x := *v
			*dst = &x
		}
	}
	set(&met.Loss, ev.Loss)
	set(&met.TokensPerS, ev.TokensPerS)
	set(&met.EtaS, ev.EtaS)
	set(&met.ValLoss, ev.ValLoss)
	set(&met.ValPPL, ev.ValPPL)
	if ev.ValLoss != nil && (met.BestValLoss == nil || *ev.ValLoss < *met.BestValLoss) {
		set(&met.BestValLoss, ev.ValLoss)
	}
}

// Models lists the servable models runs have produced.
func (m *Manager) Models() ([]Model, error) { return m.st.models() }

// Model returns one model by id.
func (m *Manager) Model(id int64) (Model, error) {
	ms, err := m.st.models()
	if err != nil {
		return Model{}, err
	}
	for _, x := range ms {
		if x.ID == id {
			return x, nil
		}
	}
	return Model{}, ErrNotFound
}

// SetActive records the model in service, so a restart serves it again.
func (m *Manager) SetActive(id int64) error {
	return m.st.setSetting("active_model", strconv.FormatInt(id, 10))
}

// Active is the model last activated, if any.
func (m *Manager) Active() (Model, bool, error) {
	ms, err := m.st.models()
	if err != nil {
		return Model{}, false, err
	}
	for _, x := range ms {
		if x.Active {
			return x, true, nil
		}
	}
	return Model{}, false, nil
}

// Shutdown stops scheduling, asks a running trainer to checkpoint and exit (the run is
// then interrupted, resumable), waits for it within ctx (then kills it) and closes the store.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return nil
	}
	m.stopping = true
	close(m.quit)
	if m.cur != nil {
		m.interruptLocked()
	}
	m.mu.Unlock()
	var err error
	select {
	case <-m.done:
	case <-ctx.Done():
		m.mu.Lock()
		if m.cur != nil && m.cur.proc != nil {
			m.cur.proc.Kill()
		}
		m.mu.Unlock()
		<-m.done
		err = errors.New("runs: trainer killed: it did not checkpoint within the grace period")
	}
	return errors.Join(err, m.st.close())
}

func (m *Manager) loop() {
	defer close(m.done)
	for {
		select {
		case <-m.quit:
			return
		default:
		}
		r, err := m.st.nextQueued()
		if errors.Is(err, ErrNotFound) {
			select {
			case <-m.wake:
			case <-m.quit:
				return
			}
			continue
		}
		if err != nil {
			m.log.Error("reading the run queue", "err", err)
			select {
			case <-time.After(time.Second):
			case <-m.quit:
				return
			}
			continue
		}
		m.execute(r)
	}
}

// execute runs r's stages from where it stands.
func (m *Manager) execute(r Run) {
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return
	}
	m.cur = &running{id: r.ID, metrics: r.Metrics}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.cur.killTimer != nil {
			m.cur.killTimer.Stop()
		}
		m.cur = nil
		m.mu.Unlock()
	}()

	stages := r.Config.stages()
	if r.Only != "" {
		stages = []string{r.Only}
	}
	start := 0
	if r.Resume {
		start = max(0, slices.Index(stages, r.Stage))
	}
	if err := os.MkdirAll(r.Dir, 0o700); err != nil {
		m.fail(r.ID, r.Stage, err.Error())
		return
	}
	for i := start; i < len(stages); i++ {
		status, msg := m.runStage(r, stages[i], r.Resume && stages[i] == "train")
		if status != StatusSucceeded {
			if _, err := m.st.setStatus(r.ID, status, msg); err != nil {
				m.log.Error("storing run status", "run", r.ID, "err", err)
			}
			m.note(r.ID, stages[i], status, msg)
			return
		}
	}
	m.st.setResume(r.ID, false)
	m.st.clearOnly(r.ID)
	m.st.setStatus(r.ID, StatusSucceeded, "")
	m.note(r.ID, stages[len(stages)-1], StatusSucceeded, "")
}

func msgSuffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

func (m *Manager) fail(id int64, stage, msg string) {
	m.st.setStatus(id, StatusFailed, msg)
	m.note(id, stage, StatusFailed, msg)
}

// runStage runs one trainer invocation to its end and says how the run stands.
func (m *Manager) runStage(r Run, stage string, resume bool) (status, msg string) {
	if err := m.st.startStage(r.ID, stage, stage == "train"); err != nil {
		return StatusFailed, err.Error()
	}
	m.note(r.ID, stage, StatusRunning, stage)
	logf, err := os.OpenFile(filepath.Join(r.Dir, "trainer.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return StatusFailed, err.Error()
	}
	defer logf.Close()
	// The watchdog: silence on both outputs for StallAfter stops the trainer, whether it
	// hangs printing nothing or after closing its output. stderr counts: evaluation reports
	// its progress there, batch by batch.
	stall := time.AfterFunc(m.opt.StallAfter, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.cur != nil && m.cur.proc != nil {
			m.log.Warn("trainer printed nothing for too long; stopping it", "run", r.ID, "stage", stage, "after", m.opt.StallAfter)
			m.cur.stalled = true
			m.interruptLocked()
		}
	})
	defer stall.Stop()
	var touchMu sync.Mutex
	touch := func() { touchMu.Lock(); stall.Reset(m.opt.StallAfter); touchMu.Unlock() }
	proc, err := m.opt.Launcher.Launch(context.Background(), Spec{RunID: r.ID, Stage: stage, Args: r.Config.Args(stage, r.Dir, resume), Dir: r.Dir,
		Log: activityWriter{logf, touch}})
	if err != nil {
		return StatusFailed, err.Error()
	}
	m.mu.Lock()
	m.cur.proc = proc
	if m.cur.cancel || m.stopping {
		m.interruptLocked()
	}
	m.mu.Unlock()

	var lastErr string
	readLines(proc.Events(), MaxEventLine, touch, func(line []byte, skipped int) {
		ev := runspec.LogRecord(fmt.Sprintf("skipped a trainer output line of %d bytes (over the %d-byte limit)", skipped, MaxEventLine))
		if skipped == 0 {
			ev = runspec.ParseLine(line)
		}
		ev.RunID, ev.Stage = r.ID, stage
		if ev.Type == runspec.EventError {
			lastErr = ev.Message
		}
		m.record(ev)
	})
	werr := proc.Wait()
	stall.Stop()

	m.mu.Lock()
	cancelled, stopping, stalled := m.cur.cancel, m.stopping, m.cur.stalled
	m.cur.proc = nil
	m.mu.Unlock()
	switch {
	case cancelled:
		return StatusCancelled, ""
	case stopping:
		return StatusInterrupted, "the server stopped during this run"
	case stalled:
		return StatusFailed, fmt.Sprintf("trainer %s printed nothing for %v and was stopped (see %s)", stage, m.opt.StallAfter, filepath.Join(r.Dir, "trainer.log"))
	case werr != nil || lastErr != "":
		if lastErr == "" {
			lastErr = fmt.Sprintf("trainer %s: %v (see %s)", stage, werr, filepath.Join(r.Dir, "trainer.log"))
		}
		return StatusFailed, lastErr
	}
	if err := m.recordArtifacts(r, stage); err != nil {
		return StatusFailed, err.Error()
	}
	return StatusSucceeded, ""
}

// activityWriter is the trainer's stderr: written to its log, and proof of life.
type activityWriter struct {
	w     io.Writer
	touch func()
}

func (a activityWriter) Write(b []byte) (int, error) {
	a.touch()
	return a.w.Write(b)
}

// readLines calls line for every non-empty line of r (without its line break), and for a line
// over max with the line's length in skipped instead, then reads on: one runaway line must
// not end the reading, or the trainer would block on a full pipe and the run would hang.
// activity is called whenever bytes arrive.
func readLines(r io.Reader, max int, activity func(), line func(b []byte, skipped int)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	over := 0 // bytes of the current line once it is over max
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			activity()
		}
		if over == 0 && len(buf)+len(chunk) <= max+2 { // + the line break
			buf = append(buf, chunk...)
		} else {
			over += len(buf) + len(chunk)
			buf = buf[:0]
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if over > 0 {
			line(nil, over)
		} else if b := bytes.TrimRight(buf, "\r\n"); len(b) > 0 {
			line(b, 0)
		}
		buf, over = buf[:0], 0
		if err != nil {
			return
		}
	}
}

// recordArtifacts registers the servable models a finished stage produced.
func (m *Manager) recordArtifacts(r Run, stage string) error {
	c := r.Config
	var mod Model
	switch {
	case stage == "merge":
		mod = Model{RunID: r.ID, Kind: "merged", Path: filepath.Join(r.Dir, "merged")}
	case stage == "quantize":
		mod = Model{RunID: r.ID, Kind: quantDir(c.QuantizeBits), Path: filepath.Join(r.Dir, quantDir(c.QuantizeBits))}
	case stage == "train" && !c.Full:
		mod = Model{RunID: r.ID, Kind: "adapter", Path: c.BaseModel, Adapter: filepath.Join(r.Dir, "adapter")}
	default:
		return nil
	}
	produced := mod.Path
	if mod.Adapter != "" {
		produced = mod.Adapter
	}
	if _, err := os.Stat(produced); err != nil {
		return fmt.Errorf("%s finished but %s is missing", stage, produced)
	}
	return m.st.addModel(mod)
}
