package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"medqa/backend/engine"
	"medqa/backend/server"
	"medqa/wasm/chat"
)

// The fake model takes benchStep per batched decode step: a fast small model, so that the
// server's own costs show instead of hiding behind the model's.
const (
	benchStep   = 2 * time.Millisecond
	benchTokens = 64
)

type sample struct {
	ttft   time.Duration
	tokens int
}

type tally struct {
	ttft   time.Duration
	tokens int
	wall   time.Duration
	cpu    time.Duration // process CPU time (user+system), client side included
	rounds int
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// round runs n streams at once and adds them up.
func (t *tally) round(b *testing.B, n int, one func(i int) sample) {
	var wg sync.WaitGroup
	out := make([]sample, n)
	c0, t0 := cpuTime(), time.Now()
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); out[i] = one(i) }()
	}
	wg.Wait()
	t.wall += time.Since(t0)
	t.cpu += cpuTime() - c0
	for _, s := range out {
		if s.tokens != benchTokens {
			b.Fatalf("a stream got %d tokens, want %d", s.tokens, benchTokens)
		}
		t.ttft += s.ttft
		t.tokens += s.tokens
	}
	t.rounds += n
}

func (t *tally) ttftMs() float64     { return t.ttft.Seconds() * 1000 / float64(t.rounds) }
func (t *tally) tokensPerS() float64 { return float64(t.tokens) / t.wall.Seconds() }

var benchAsk = engine.Request{Messages: []chat.Message{{Role: "user", Content: "q"}}}

func direct(b *testing.B, e *engine.Engine) sample {
	t0 := time.Now()
	st, err := e.Generate(context.Background(), benchAsk)
	if err != nil {
		b.Fatal(err)
	}
	var s sample
	for {
		text, err := st.Next(context.Background())
		if err != nil {
			return s
		}
		if s.ttft == 0 {
			s.ttft = time.Since(t0)
		}
		s.tokens += len(text) // one byte per token with the fake tokenizer
	}
}

func overWebsocket(b *testing.B, c *websocket.Conn) sample {
	t0 := time.Now()
	ask(b, c, "q")
	var s sample
	for {
		f := read(b, c)
		if f.Type != "token" {
			return s
		}
		if s.ttft == 0 {
			s.ttft = time.Since(t0)
		}
		s.tokens += len(f.Text)
	}
}

// BenchmarkStreams reports time to first token and aggregate tokens/s at 1, 8 and 32
// concurrent streams, calling the engine directly and over the chat websocket of a real
// server on loopback, on the same engine, and the server's overhead: on wall time, and in
// CPU time per token (the wall-time figure is at the mercy of other load on the machine).
func BenchmarkStreams(b *testing.B) {
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			h := newHarness(b, setup{reply: strings.Repeat("x", benchTokens), delay: benchStep, noRuns: true,
				engine: engine.Config{MaxBatch: 32, MaxQueue: 64},
				mutate: func(o *server.Options) { o.PingEvery = time.Minute; o.MaxStreamsPerClient = n }}) // one address, n streams
			conns := make([]*websocket.Conn, n)
			for i := range conns {
				conns[i] = h.mustDial("/ws/chat")
			}
			var eng, ws tally
			for b.Loop() {
				eng.round(b, n, func(int) sample { return direct(b, h.eng) })
				ws.round(b, n, func(i int) sample { return overWebsocket(b, conns[i]) })
			}
			b.ReportMetric(eng.ttftMs(), "ttft_ms_engine")
			b.ReportMetric(ws.ttftMs(), "ttft_ms_ws")
			b.ReportMetric(eng.tokensPerS(), "tok/s_engine")
			b.ReportMetric(ws.tokensPerS(), "tok/s_ws")
			b.ReportMetric((ws.wall.Seconds()/eng.wall.Seconds()-1)*100, "overhead_%")
			// CPU the websocket path adds per token (server and client together): what the
			// server costs, independent of how busy the machine is.
			b.ReportMetric(float64((ws.cpu-eng.cpu).Microseconds())/float64(ws.tokens), "extra_cpu_us/token")
		})
	}
}
