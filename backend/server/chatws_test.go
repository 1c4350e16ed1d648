package server_test

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/server"
	"medqa/files/testkit"
)

func TestTokensArriveIncrementally(t *testing.T) {
	const reply = "Iron-deficiency anæmia: fatigue, pallor → treat the cause. 🩺"
	h := newHarness(t, setup{reply: reply, delay: 3 * time.Millisecond})
	c := h.mustDial("/ws/chat")
	ask(t, c, "What is anemia?")
	first := read(t, c)
	if first.Type != "token" || first.Text == "" {
		t.Fatalf("first frame %+v", first)
	}
	// The first piece reached the client while the engine was still generating the rest.
	if s := h.eng.Stats(); s.Active != 1 {
		t.Fatalf("engine %+v after the first token frame: generation already over, so not incremental", s)
	}
	rest, n, done := readAnswer(t, c)
	text := first.Text + rest
	if text != reply || n < 5 {
		t.Fatalf("got %q in %d more frames, want %q in many", text, n, reply)
	}
	if !utf8.ValidString(first.Text) {
		t.Fatal("a token frame split a character")
	}
	if done.Type != "done" || done.FinishReason != engine.FinishStop || done.Model != "fake-base" ||
		done.Usage.CompletionTokens != len(reply) || done.Usage.PromptTokens == 0 || done.Timing.TTFTMs <= 0 || done.Timing.TokensPerS <= 0 {
		t.Fatalf("done frame %+v", done)
	}
	// The connection takes another ask after the first.
	ask(t, c, "again")
	if again, _, d := readAnswer(t, c); again != reply || d.Type != "done" {
		t.Fatalf("second ask: %q %+v", again, d)
	}
}

func TestStopCancelsAndFreesSlot(t *testing.T) {
	h := newHarness(t, setup{reply: strings.Repeat("a", 20000), delay: time.Millisecond})
	c := h.mustDial("/ws/chat")
	ask(t, c, "long")
	if f := read(t, c); f.Type != "token" {
		t.Fatalf("%+v", f)
	}
	if err := c.WriteJSON(map[string]string{"type": "stop"}); err != nil {
		t.Fatal(err)
	}
	_, _, done := readAnswer(t, c)
	if done.Type != "done" || done.FinishReason != engine.FinishCancelled || done.Usage.CompletionTokens >= 20000 {
		t.Fatalf("after stop: %+v", done)
	}
	testkit.Eventually(t, 10*time.Second, "engine slot freed", func() bool {
		live, _, _, _ := h.model.Stats()
		return h.eng.Stats().Active == 0 && live == 0
	})
}

func TestDisconnectCancelsAndFreesSlot(t *testing.T) {
	h := newHarness(t, setup{reply: strings.Repeat("b", 20000), delay: time.Millisecond})
	c := h.mustDial("/ws/chat")
	ask(t, c, "long")
	read(t, c)
	c.NetConn().Close() // vanish without a close frame
	testkit.Eventually(t, 10*time.Second, "engine slot freed", func() bool {
		live, _, _, _ := h.model.Stats()
		return h.eng.Stats().Active == 0 && live == 0
	})
	_, _, steps, _ := h.model.Stats()
	if steps >= 20000 {
		t.Fatal("generation ran to the end after the client left")
	}
}

func TestErrorFrames(t *testing.T) {
	h := newHarness(t, setup{reply: strings.Repeat("c", 5000), delay: time.Millisecond, mutate: func(o *server.Options) {
		o.ChatLimiter = auth.NewLimiter(0.001, 2) // the bad-params ask and the long one
	}})
	c := h.mustDial("/ws/chat")
	c.WriteJSON(map[string]string{"type": "hello"})
	if f := read(t, c); f.Type != "error" || f.Code != "bad_request" {
		t.Fatalf("unknown frame: %+v", f)
	}
	c.WriteMessage(websocket.TextMessage, []byte("{not json"))
	if f := read(t, c); f.Type != "error" || f.Code != "bad_request" {
		t.Fatalf("bad JSON: %+v", f)
	}
	c.WriteJSON(map[string]any{"type": "ask", "messages": []map[string]string{{"role": "user", "content": "x"}}, "params": map[string]any{"temperature": 5}})
	if f := read(t, c); f.Type != "error" || f.Code != "bad_request" || !strings.Contains(f.Message, "temperature") {
		t.Fatalf("bad params: %+v", f)
	}
	ask(t, c, "long")
	read(t, c)
	ask(t, c, "while busy")
	for {
		f := read(t, c)
		if f.Type == "token" {
			continue
		}
		if f.Type != "error" || f.Code != "busy" {
			t.Fatalf("ask while busy: %+v", f)
		}
		break
	}
	c.WriteJSON(map[string]string{"type": "stop"})
	if _, _, d := readAnswer(t, c); d.Type != "done" {
		t.Fatalf("%+v", d)
	}
	ask(t, c, "over the rate")
	if f := read(t, c); f.Type != "error" || f.Code != "rate_limited" || f.RetryAfterS < 1 {
		t.Fatalf("rate limit: %+v", f)
	}
}

func TestMessageSizeLimit(t *testing.T) {
	h := newHarness(t, setup{mutate: func(o *server.Options) { o.WSMaxMessage = 1024 }})
	c := h.mustDial("/ws/chat")
	msg := `{"type":"ask","messages":[{"role":"user","content":"` + strings.Repeat("x", 4096) + `"}]}`
	werr := c.WriteMessage(websocket.TextMessage, []byte(msg))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ReadMessage()
	// The server refuses the frame from its header and closes with unread bytes in its
	// buffer, which the kernel answers with a reset: on a busy machine it can reach the
	// client before the close frame is read (or before the write has finished).
	if werr != nil || errors.Is(err, syscall.ECONNRESET) {
		if !errors.Is(werr, syscall.ECONNRESET) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("write: %v, read: %v", werr, err)
		}
		return
	}
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("oversized message: %v, want close 1009", err)
	}
}

func TestCrossOriginChatSocketRefused(t *testing.T) {
	h := newHarness(t, setup{})
	_, res, err := h.dial("/ws/chat", "http://evil.example", false)
	if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade: %v %v", err, res)
	}
	c, _, err := h.dial("/ws/chat", h.ts.URL, false)
	if err != nil {
		t.Fatalf("same-origin upgrade: %v", err)
	}
	c.Close()
}

func TestRequireLogin(t *testing.T) {
	h := newHarness(t, setup{mutate: func(o *server.Options) { o.RequireLogin = true }})
	if _, res, err := h.dial("/ws/chat", h.ts.URL, false); err == nil || res.StatusCode != 401 {
		t.Fatalf("chat socket without a session: %v", err)
	}
	if res := h.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, nil); res.StatusCode != 401 {
		t.Fatalf("/v1 without a session: %d", res.StatusCode)
	}
	h.login()
	c, _, err := h.dial("/ws/chat", h.ts.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask(t, c, "hi")
	if _, _, d := readAnswer(t, c); d.Type != "done" {
		t.Fatalf("%+v", d)
	}
}

func TestShutdownLetsStreamsFinish(t *testing.T) {
	const reply = "a reply that finishes during the grace period"
	h := newHarness(t, setup{reply: reply, delay: 5 * time.Millisecond})
	c := h.mustDial("/ws/chat")
	ask(t, c, "q")
	read(t, c)
	shut := make(chan error, 1)
	go func() { shut <- h.srv.Shutdown(t.Context(), h.ts.Config) }()
	testkit.Eventually(t, 10*time.Second, "readyz to report shutting down", func() bool {
		r, err := http.Get(h.ts.URL + "/readyz")
		if err != nil {
			return true // the listener is already closed
		}
		r.Body.Close()
		return r.StatusCode == 503
	})
	_, _, done := readAnswer(t, c)
	if done.Type != "done" || done.Usage.CompletionTokens != len(reply) {
		t.Fatalf("stream cut by shutdown: %+v", done)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after the last answer: %v, want close 1001", err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}
