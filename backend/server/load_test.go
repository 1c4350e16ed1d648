package server_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"medqa/backend/engine"
	"medqa/backend/server"
	"medqa/files/testkit"
)

// TestHundredConcurrentStreams: 100 websocket clients ask at once an engine that holds 80
// (32 decoding + 48 queued). Every client gets a complete, exact answer or a clean
// queue_full error frame, none is dropped, and the refused ones succeed when they retry.
func TestHundredConcurrentStreams(t *testing.T) {
	const clients, batch, queue = 100, 32, 48
	reply := strings.Repeat("Take with food. ", 8)
	h := newHarness(t, setup{reply: reply, delay: time.Millisecond, engine: engine.Config{MaxBatch: batch, MaxQueue: queue}, noRuns: true,
		// Idle clients here do not read, so they would not answer pings (browsers do). All
		// come from one address: the per-client stream cap is lifted to load the engine's queue.
		mutate: func(o *server.Options) { o.PingEvery = time.Minute; o.MaxStreamsPerClient = clients }})
	h.model.Hold = make(chan struct{})

	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i] = h.mustDial("/ws/chat")
	}
	type outcome struct {
		text string
		last frame
	}
	results := make([]outcome, clients)
	var wg sync.WaitGroup
	var refusedMu sync.Mutex
	refused := 0
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ask(t, c, "dose?")
			text, _, last := readAnswer(t, c)
			results[i] = outcome{text, last}
			if last.Type == "error" {
				refusedMu.Lock()
				refused++
				refusedMu.Unlock()
			}
		}()
	}
	// Release the model once every ask has been accepted or refused.
	testkit.Eventually(t, 10*time.Second, "all asks answered or queued", func() bool {
		refusedMu.Lock()
		defer refusedMu.Unlock()
		s := h.eng.Stats()
		return s.Active+s.Waiting+refused == clients
	})
	close(h.model.Hold)
	wg.Wait()

	done, full := 0, 0
	for i, r := range results {
		switch {
		case r.last.Type == "done" && r.text == reply && r.last.Usage.CompletionTokens == len(reply):
			done++
		case r.last.Type == "error" && r.last.Code == "queue_full" && r.last.RetryAfterS >= 1 && r.text == "":
			full++
		default:
			t.Errorf("client %d: %q then %+v", i, r.text, r.last)
		}
	}
	if done != batch+queue || full != clients-batch-queue {
		t.Fatalf("%d complete, %d queue_full; want %d and %d", done, full, batch+queue, clients-batch-queue)
	}
	_, maxBatch, _, _ := h.model.Stats()
	if maxBatch != batch {
		t.Fatalf("largest decode batch %d, want %d", maxBatch, batch)
	}
	// The refused clients retry on the same connections and get their answers.
	for i, r := range results {
		if r.last.Type == "error" {
			ask(t, conns[i], "dose?")
			if text, _, last := readAnswer(t, conns[i]); text != reply || last.Type != "done" {
				t.Fatalf("retry of client %d: %q %+v", i, text, last)
			}
		}
	}
	testkit.Eventually(t, 10*time.Second, "engine idle", func() bool { s := h.eng.Stats(); return s.Active == 0 && s.Waiting == 0 })
}
