// Package fakemodel is a deterministic stand-in for the language model, for tests,
// benchmarks and for running the server before a real model is wired: its tokens are the
// bytes of a fixed reply, so text, token counts and multi-byte characters split across
// tokens are all known in advance.
package fakemodel

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"medqa/backend/engine"
	"medqa/wasm/chat"
)

// EOS ends every reply. Ids 0–255 are bytes.
const EOS = 256

// Model replies with Reply to every prompt, one byte per token, then EOS.
type Model struct {
	Reply string
	Delay time.Duration // slept once per prefill and once per batched step
	// Hold, when set, makes every prefill wait until it is closed: tests use it to fill the
	// engine's queue deterministically.
	Hold chan struct{}

	mu        sync.Mutex
	live      int
	maxBatch  int
	steps     int
	prefilled int
	sampling  []engine.Sampling
}

// New returns a fake model and the bundle that serves it.
func New(name, reply string, delay time.Duration) (*Model, engine.Bundle) {
	m := &Model{Reply: reply, Delay: delay}
	return m, engine.Bundle{
		Name: name, Model: m, Tokenizer: Tokenizer{}, Render: Render,
		Stop: []int{EOS}, Context: 4096,
		Sampling: engine.Sampling{Temperature: 0.7, TopP: 0.8, TopK: 20, RepetitionPenalty: 1.05},
	}
}

type seq struct {
	m        *Model
	toks     []byte
	pos      int
	released bool
}

func (s *seq) Release() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.released {
		panic("fakemodel: sequence released twice")
	}
	s.released = true
	s.m.live--
}

func (s *seq) next() int {
	if s.pos >= len(s.toks) {
		return EOS
	}
	s.pos++
	return int(s.toks[s.pos-1])
}

// Prefill implements engine.Model.
func (m *Model) Prefill(prompt []int, s engine.Sampling) (engine.Sequence, int, error) {
	if len(prompt) == 0 {
		return nil, 0, fmt.Errorf("fakemodel: empty prompt")
	}
	if m.Hold != nil {
		<-m.Hold
	}
	time.Sleep(m.Delay)
	m.mu.Lock()
	m.live++
	m.prefilled++
	m.sampling = append(m.sampling, s)
	m.mu.Unlock()
	sq := &seq{m: m, toks: []byte(m.Reply)}
	return sq, sq.next(), nil
}

// Step implements engine.Model: one delay for the whole batch, as a real batched step costs
// about the same for 1 or 8 sequences on a memory-bound decoder.
func (m *Model) Step(seqs []engine.Sequence) ([]int, error) {
	time.Sleep(m.Delay)
	m.mu.Lock()
	m.steps++
	m.maxBatch = max(m.maxBatch, len(seqs))
	m.mu.Unlock()
	out := make([]int, len(seqs))
	for i, s := range seqs {
		fs := s.(*seq)
		if fs.released {
			return nil, fmt.Errorf("fakemodel: step on a released sequence")
		}
		out[i] = fs.next()
	}
	return out, nil
}

// Stats reports sequences alive (prefilled, not released), the largest batch stepped, the
// number of steps and of prefills.
func (m *Model) Stats() (live, maxBatch, steps, prefills int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live, m.maxBatch, m.steps, m.prefilled
}

// Sampling returns the sampling settings of every prefill so far, in order.
func (m *Model) Sampling() []engine.Sampling {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]engine.Sampling(nil), m.sampling...)
}

// Tokenizer is byte-level: one token per byte.
type Tokenizer struct{}

// Encode implements engine.Tokenizer.
func (Tokenizer) Encode(text string) []int {
	ids := make([]int, len(text))
	for i := range len(text) {
		ids[i] = int(text[i])
	}
	return ids
}

// NewStreamDecoder implements engine.Tokenizer.
func (Tokenizer) NewStreamDecoder() engine.StreamDecoder { return &decoder{} }

// decoder holds back the bytes of an incomplete UTF-8 character.
type decoder struct{ buf []byte }

func (d *decoder) Push(id int) string {
	if id < 0 || id > 255 {
		return ""
	}
	d.buf = append(d.buf, byte(id))
	n := 0
	for n < len(d.buf) {
		r, size := utf8.DecodeRune(d.buf[n:])
		if r == utf8.RuneError && size == 1 && !utf8.FullRune(d.buf[n:]) {
			break
		}
		n += size
	}
	out := string(d.buf[:n])
	d.buf = d.buf[n:]
	return out
}

func (d *decoder) Flush() string {
	out := string(d.buf)
	d.buf = nil
	return out
}

// Render is a minimal chat template: one "<|role|>content" line per turn, then the
// assistant's opening.
func Render(msgs []chat.Message) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return "", fmt.Errorf("messages[%d].role: unknown role %q", i, m.Role)
		}
		fmt.Fprintf(&b, "<|%s|>%s\n", m.Role, m.Content)
	}
	b.WriteString("<|assistant|>")
	return b.String(), nil
}
