package engine

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"
)

// loop is the only goroutine that touches models. Each turn it drops cancelled requests,
// admits waiting ones into free batch slots (prefill), then advances every active request
// by one token in one batched step per model (two models only right after a hot swap).
func (e *Engine) loop() {
	runtime.LockOSThread() // libtorch state (grad mode, OpenMP teams) is per OS thread
	defer close(e.stopped)
	var active []*job
	for {
		select {
		case <-e.abort:
			e.mu.Lock()
			rest := e.waiting
			e.waiting = nil
			e.mu.Unlock()
			for _, j := range append(active, rest...) {
				e.finish(j, "", ErrClosed)
			}
			return
		default:
		}

		active = slices.DeleteFunc(active, func(j *job) bool {
			if j.ctx.Err() != nil {
				e.finish(j, FinishCancelled, nil)
				return true
			}
			return false
		})

		e.mu.Lock()
		k := min(e.cfg.MaxBatch-len(active), len(e.waiting))
		admit := slices.Clone(e.waiting[:max(k, 0)])
		e.waiting = slices.Delete(e.waiting, 0, max(k, 0))
		for _, j := range admit {
			j.state.Store(stateActive)
			e.active.Add(1)
		}
		idle := e.closed && len(e.waiting) == 0
		e.mu.Unlock()

		for _, j := range admit {
			if e.prefill(j) {
				active = append(active, j)
			}
		}
		if len(active) == 0 {
			if idle {
				return
			}
			select {
			case <-e.wake:
			case <-e.abort:
			}
			continue
		}
		e.step(active)
		active = slices.DeleteFunc(active, func(j *job) bool { return j.state.Load() == stateDone })
	}
}

// prefill starts j in its model and reports whether it goes on to decode.
func (e *Engine) prefill(j *job) bool {
	if j.ctx.Err() != nil {
		e.finish(j, FinishCancelled, nil)
		return false
	}
	j.tStart = time.Now()
	seq, first, err := j.m.Model.Prefill(j.prompt, j.samp)
	if err != nil {
		e.finish(j, "", fmt.Errorf("prefill: %w", err))
		return false
	}
	j.seq = seq
	return e.emit(j, first)
}

// step runs one batched decode step per model among the active jobs.
func (e *Engine) step(active []*job) {
	for len(active) > 0 {
		m := active[0].m
		var group []*job
		var seqs []Sequence
		var rest []*job
		for _, j := range active {
			if j.m == m {
				group = append(group, j)
				seqs = append(seqs, j.seq)
			} else {
				rest = append(rest, j)
			}
		}
		next, err := m.Model.Step(seqs)
		if err == nil && len(next) != len(seqs) {
			err = fmt.Errorf("model returned %d tokens for %d sequences", len(next), len(seqs))
		}
		for i, j := range group {
			if err != nil {
				e.finish(j, "", fmt.Errorf("decode step: %w", err))
			} else {
				e.emit(j, next[i])
			}
		}
		active = rest
	}
}

// emit hands a sampled token to j and reports whether j goes on.
func (e *Engine) emit(j *job, id int) bool {
	now := time.Now()
	if j.tFirst.IsZero() {
		j.tFirst = now
	}
	if j.m.stop[id] {
		e.finish(j, FinishStop, nil)
		return false
	}
	j.n++
	j.tLast = now
	j.st.push(j.dec.Push(id))
	if j.n >= j.maxNew {
		e.finish(j, FinishLength, nil)
		return false
	}
	return true
}

// Shutdown refuses new requests and lets queued and active ones finish; when ctx ends first,
// the rest end with ErrClosed. The current model is closed afterwards.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	first := !e.closed
	e.closed = true
	e.mu.Unlock()
	e.poke()
	var err error
	select {
	case <-e.stopped:
	case <-ctx.Done():
		if first {
			close(e.abort)
		}
		<-e.stopped
		err = ctx.Err()
	}
	e.mu.Lock()
	m := e.cur
	e.cur = nil
	e.mu.Unlock()
	if first && m != nil && m.Close != nil {
		_ = m.Close()
	}
	return err
}
