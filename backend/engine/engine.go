package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config bounds the engine's work. Zero fields take the defaults in New.
type Config struct {
	MaxBatch         int // sequences decoded together in one step
	MaxQueue         int // requests allowed to wait for a free batch slot
	MaxPromptTokens  int // longer prompts are refused (InputError)
	MaxNewTokens     int // ceiling on a request's max_tokens
	DefaultNewTokens int // max_tokens when a request leaves it out
}

// Stats is a snapshot for metrics and readiness.
type Stats struct {
	Model   string // "" when none is loaded
	Active  int    // requests in the decode batch
	Waiting int    // requests queued for a slot
	RAG     bool   // the model's default for retrieval-augmented prompts
}

// Engine serialises all model work onto one goroutine and batches the active requests'
// decode steps. It is safe for concurrent use.
type Engine struct {
	cfg Config

	mu      sync.Mutex
	cur     *loaded
	waiting []*job
	closed  bool

	active  atomic.Int64
	wake    chan struct{} // capacity 1
	abort   chan struct{} // closed when Shutdown's grace ran out
	stopped chan struct{} // closed when the loop has exited
}

// loaded is a bundle with the count of requests bound to it, so a swapped-out model is
// closed only after its last request finishes.
type loaded struct {
	Bundle
	refs    int
	retired bool
	stop    map[int]bool
}

// job is one request inside the engine.
type job struct {
	ctx    context.Context
	m      *loaded
	prompt []int
	samp   Sampling
	maxNew int
	st     *Stream
	dec    StreamDecoder
	seq    Sequence
	n      int // tokens generated
	unhook func() bool

	t0, tStart, tFirst, tLast time.Time
	state                     atomic.Int32
}

const (
	stateWaiting int32 = iota
	stateActive
	stateDone
)

// New starts an engine; b may be nil (no model yet: Generate answers ErrNoModel).
func New(cfg Config, b *Bundle) *Engine {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MaxBatch, 8)
	def(&cfg.MaxQueue, 64)
	def(&cfg.MaxPromptTokens, 2048)
	def(&cfg.MaxNewTokens, 1024)
	def(&cfg.DefaultNewTokens, min(512, cfg.MaxNewTokens))
	e := &Engine{cfg: cfg, wake: make(chan struct{}, 1), abort: make(chan struct{}), stopped: make(chan struct{})}
	if b != nil {
		e.cur = newLoaded(*b)
	}
	go e.loop()
	return e
}

func newLoaded(b Bundle) *loaded {
	l := &loaded{Bundle: b, stop: map[int]bool{}}
	for _, id := range b.Stop {
		l.stop[id] = true
	}
	return l
}

// Config returns the limits in force.
func (e *Engine) Config() Config { return e.cfg }

// Stats returns the current load.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Active: int(e.active.Load()), Waiting: len(e.waiting)}
	if e.cur != nil {
		s.Model, s.RAG = e.cur.Name, e.cur.RAG
	}
	return s
}

// Client returns the serving model's name and tokenizer files (nil when it has none).
func (e *Engine) Client() (string, *TokenizerFiles) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return "", nil
	}
	return e.cur.Name, e.cur.Client
}

// Swap makes b serve every request submitted from now on. Requests already submitted finish
// on the model they started with, which is closed after the last of them.
func (e *Engine) Swap(b Bundle) {
	e.mu.Lock()
	old := e.cur
	e.cur = newLoaded(b)
	var closeOld func() error
	if old != nil {
		old.retired = true
		if old.refs == 0 {
			closeOld = old.Close
		}
	}
	e.mu.Unlock()
	if closeOld != nil {
		_ = closeOld()
	}
}

// Generate tokenises the conversation and queues it. It fails at once with ErrQueueFull when
// the queue is full, with an *InputError for bad input, ErrNoModel or ErrClosed. Cancelling
// ctx stops the generation and frees its slot; the stream then ends with FinishCancelled.
func (e *Engine) Generate(ctx context.Context, req Request) (*Stream, error) {
	t0 := time.Now()
	e.mu.Lock()
	m, closed := e.cur, e.closed
	if m != nil && !closed {
		m.refs++ // bind now, so a swap during tokenisation keeps this request consistent
	}
	e.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case m == nil:
		return nil, ErrNoModel
	}
	j, err := e.prepare(ctx, m, req)
	if err != nil {
		e.unref(m)
		return nil, err
	}
	j.t0 = t0

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.unref(m)
		return nil, ErrClosed
	}
	if len(e.waiting) >= e.cfg.MaxQueue+max(0, e.cfg.MaxBatch-int(e.active.Load())) {
		e.mu.Unlock()
		e.unref(m)
		return nil, ErrQueueFull
	}
	e.waiting = append(e.waiting, j)
	e.mu.Unlock()
	j.unhook = context.AfterFunc(ctx, func() { e.cancel(j) })
	e.poke()
	return j.st, nil
}

func (e *Engine) prepare(ctx context.Context, m *loaded, req Request) (*job, error) {
	if len(req.Messages) == 0 {
		return nil, &InputError{"messages", "must not be empty"}
	}
	samp, err := req.Params.resolve(m.Sampling)
	if err != nil {
		return nil, err
	}
	text, err := m.Render(req.Messages)
	if err != nil {
		return nil, &InputError{"messages", err.Error()}
	}
	prompt := m.Tokenizer.Encode(text)
	if len(prompt) > e.cfg.MaxPromptTokens {
		return nil, &InputError{"messages", fmt.Sprintf("prompt is %d tokens, limit %d", len(prompt), e.cfg.MaxPromptTokens)}
	}
	maxNew := req.Params.MaxTokens
	if maxNew == 0 {
		maxNew = e.cfg.DefaultNewTokens
	}
	if maxNew > e.cfg.MaxNewTokens {
		return nil, &InputError{"max_tokens", fmt.Sprintf("%d is over the limit %d", maxNew, e.cfg.MaxNewTokens)}
	}
	if m.Context > 0 {
		room := m.Context - len(prompt)
		if room <= 0 {
			return nil, &InputError{"messages", fmt.Sprintf("prompt is %d tokens, the model's context is %d", len(prompt), m.Context)}
		}
		maxNew = min(maxNew, room)
	}
	return &job{ctx: ctx, m: m, prompt: prompt, samp: samp, maxNew: maxNew, st: newStream(m.Name), dec: m.Tokenizer.NewStreamDecoder()}, nil
}

// cancel runs when a request's context ends. A waiting request leaves the queue now; an
// active one is dropped by the loop before its next step.
func (e *Engine) cancel(j *job) {
	e.mu.Lock()
	if i := slices.Index(e.waiting, j); i >= 0 {
		e.waiting = slices.Delete(e.waiting, i, i+1)
		e.mu.Unlock()
		e.finish(j, FinishCancelled, nil)
		return
	}
	e.mu.Unlock()
	e.poke()
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) unref(m *loaded) {
	e.mu.Lock()
	m.refs--
	var c func() error
	if m.retired && m.refs == 0 {
		c = m.Close
	}
	e.mu.Unlock()
	if c != nil {
		_ = c()
	}
}

// finish ends a job exactly once: releases its sequence, completes its stream, unbinds its model.
func (e *Engine) finish(j *job, reason string, err error) {
	prev := j.state.Swap(stateDone)
	if prev == stateDone {
		return
	}
	if prev == stateActive {
		e.active.Add(-1)
	}
	if j.unhook != nil {
		j.unhook()
	}
	if j.seq != nil {
		j.seq.Release()
		j.seq = nil
	}
	j.st.push(j.dec.Flush())
	now := time.Now()
	res := Result{Model: j.m.Name, PromptTokens: len(j.prompt), CompletionTokens: j.n, FinishReason: reason, Total: now.Sub(j.t0)}
	if !j.tStart.IsZero() {
		res.QueueWait = j.tStart.Sub(j.t0)
	} else {
		res.QueueWait = res.Total
	}
	if !j.tFirst.IsZero() {
		res.TTFT = j.tFirst.Sub(j.t0)
		res.decode = j.tLast.Sub(j.tFirst)
	}
	j.st.finish(res, err)
	e.unref(j.m)
}
