package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"medqa/assets"
	"medqa/backend/engine"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/qwen2"
	"medqa/wasm/chat"
)

// BenchmarkRealModelStreams: time to first token and aggregate tokens/s of the real Qwen2
// path at 1, 8 and 32 concurrent streams, calling the engine directly and over the chat
// websocket of a real server on loopback (same engine), and the server's wall-time overhead.
// The model has random weights in the default model's shape (assets/model/config.json) but
// Qwen2.5's whole 151,936-token vocabulary, so that it takes the embedded
// tokenizer; every stream asks for 32 new tokens.
func BenchmarkRealModelStreams(b *testing.B) {
	cfg, err := qwen2.LoadConfig(filepath.Join("..", assets.DefaultModelDir, "config.json"))
	if err != nil {
		b.Fatal(err)
	}
	// The default model's vocabulary is trimmed; the embedded tokenizer's is not.
	cfg.VocabSize, cfg.EOSTokenID = 151936, qwen2.IDs{151645}
	dir := qwen2test.Write(b, cfg, 5)
	const newTokens = 32
	zero := 0.0
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			bun, err := loadQwen2(context.Background(), "bench", dir, "")
			if err != nil {
				b.Fatal(err)
			}
			eng := engine.New(engine.Config{MaxBatch: 32, MaxQueue: 64}, &bun)
			defer eng.Shutdown(context.Background())
			url := modelServerWith(b, eng)
			conns := make([]*websocket.Conn, n)
			for i := range conns {
				c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws/chat", map[string][]string{"Origin": {url}})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
			}
			// Different questions, so that no two streams are the same sequence.
			ask := func(i int) []chat.Message {
				return []chat.Message{{Role: "user", Content: fmt.Sprintf("Question %d: what is glaucoma?", i)}}
			}
			// Warm up (libtorch's first calls allocate and spin up its threads), untimed.
			if st, err := eng.Generate(context.Background(), engine.Request{Messages: ask(0), Params: engine.Params{Temperature: &zero, MaxTokens: 4}}); err == nil {
				engine.Collect(context.Background(), st)
			}
			var eng1, ws tally
			for b.Loop() {
				eng1.round(n, func(i int) sample {
					t0 := time.Now()
					st, err := eng.Generate(context.Background(), engine.Request{Messages: ask(i), Params: engine.Params{Temperature: &zero, MaxTokens: newTokens}})
					if err != nil {
						b.Fatal(err)
					}
					var s sample
					for {
						if _, err := st.Next(context.Background()); err != nil {
							break
						}
						if s.ttft == 0 {
							s.ttft = time.Since(t0)
						}
					}
					s.tokens = st.Result().CompletionTokens
					return s
				})
				ws.round(n, func(i int) sample {
					c := conns[i]
					t0 := time.Now()
					if err := c.WriteJSON(map[string]any{"type": "ask", "messages": ask(i), "params": map[string]any{"temperature": 0, "max_tokens": newTokens}}); err != nil {
						b.Fatal(err)
					}
					var s sample
					for {
						var f struct {
							Type  string
							Usage struct {
								CompletionTokens int `json:"completion_tokens"`
							}
						}
						if err := c.ReadJSON(&f); err != nil {
							b.Fatal(err)
						}
						if f.Type == "token" && s.ttft == 0 {
							s.ttft = time.Since(t0)
						}
						if f.Type == "done" {
							s.tokens = f.Usage.CompletionTokens
							return s
						}
						if f.Type == "error" {
							b.Fatalf("error frame %+v", f)
						}
					}
				})
			}
			b.ReportMetric(eng1.ttftMs(), "ttft_ms_engine")
			b.ReportMetric(ws.ttftMs(), "ttft_ms_ws")
			b.ReportMetric(eng1.tokensPerS(), "tok/s_engine")
			b.ReportMetric(ws.tokensPerS(), "tok/s_ws")
			b.ReportMetric((ws.wall.Seconds()/eng1.wall.Seconds()-1)*100, "overhead_%")
		})
	}
}

type sample struct {
	ttft   time.Duration
	tokens int
}

type tally struct {
	ttft   time.Duration
	tokens int
	wall   time.Duration
	rounds int
}

// round runs n streams at once and adds them up.
func (t *tally) round(n int, one func(i int) sample) {
	var wg sync.WaitGroup
	out := make([]sample, n)
	t0 := time.Now()
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); out[i] = one(i) }()
	}
	wg.Wait()
	t.wall += time.Since(t0)
	for _, s := range out {
		t.ttft += s.ttft
		t.tokens += s.tokens
	}
	t.rounds += n
}

func (t *tally) ttftMs() float64     { return t.ttft.Seconds() * 1000 / float64(t.rounds) }
func (t *tally) tokensPerS() float64 { return float64(t.tokens) / t.wall.Seconds() }
