package engine

import (
	"context"
	"io"
	"sync"
)

// Stream is one request's reply as it is generated. The engine appends text without ever
// blocking; a reader that falls behind gets the text coalesced into fewer, larger pieces.
type Stream struct {
	model    string
	mu       sync.Mutex
	pending  []byte
	finished bool
	res      Result
	err      error
	wake     chan struct{} // capacity 1: "something changed"
}

func newStream(model string) *Stream { return &Stream{model: model, wake: make(chan struct{}, 1)} }

// Model names the model this request runs on (fixed at Generate, even across a hot swap).
func (s *Stream) Model() string { return s.model }

// Next returns the text generated since the last call, waiting for some. At the end it
// returns io.EOF (then Result is final) or the error that ended the request.
func (s *Stream) Next(ctx context.Context) (string, error) {
	for {
		text, err := s.Take()
		if text != "" || err != nil {
			return text, err
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// Ready is signalled when Take has something to return, so that a connection's own event
// loop can wait on it beside its other channels.
func (s *Stream) Ready() <-chan struct{} { return s.wake }

// Take returns the text pending now without waiting ("" if none). Once the text is all taken
// and the request is over, it returns io.EOF or the error that ended it.
func (s *Stream) Take() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 {
		t := string(s.pending)
		s.pending = s.pending[:0]
		return t, nil
	}
	if s.finished {
		if s.err != nil {
			return "", s.err
		}
		return "", io.EOF
	}
	return "", nil
}

// Result is the usage and timing; final once Next has returned io.EOF.
func (s *Stream) Result() Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res
}

func (s *Stream) push(text string) {
	if text == "" {
		return
	}
	s.mu.Lock()
	s.pending = append(s.pending, text...)
	s.mu.Unlock()
	s.poke()
}

func (s *Stream) finish(res Result, err error) {
	s.mu.Lock()
	s.finished, s.res, s.err = true, res, err
	s.mu.Unlock()
	s.poke()
}

func (s *Stream) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Collect reads a stream to its end and returns the whole text.
func Collect(ctx context.Context, s *Stream) (string, Result, error) {
	var b []byte
	for {
		t, err := s.Next(ctx)
		b = append(b, t...)
		if err == io.EOF {
			return string(b), s.Result(), nil
		}
		if err != nil {
			return string(b), s.Result(), err
		}
	}
}
