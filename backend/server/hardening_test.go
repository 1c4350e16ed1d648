package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/runs"
	"medqa/backend/server"
)

// bearerLogin logs in as a script does and returns the token.
func (h *harness) bearerLogin() string {
	h.t.Helper()
	res := h.do("POST", "/api/login", `{"password":"`+password+`","bearer":true}`, nil)
	defer res.Body.Close()
	var body struct {
		Token string `json:"token"`
	}
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 200 || body.Token == "" {
		h.t.Fatalf("bearer login: %d", res.StatusCode)
	}
	return body.Token
}

func TestLogoutRevokesTheBearerToken(t *testing.T) {
	h := newHarness(t, setup{})
	tok := h.bearerLogin()
	other := h.bearerLogin()
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	if res := h.do("GET", "/api/runs", "", bearer(tok)); res.StatusCode != 200 {
		t.Fatalf("bearer before logout: %d", res.StatusCode)
	}
	if res := h.do("POST", "/api/logout", "", bearer(tok)); res.StatusCode != 200 {
		t.Fatalf("bearer logout: %d", res.StatusCode)
	}
	if res := h.do("GET", "/api/runs", "", bearer(tok)); res.StatusCode != 401 {
		t.Fatalf("bearer after its logout: %d, want 401", res.StatusCode)
	}
	if res := h.do("GET", "/api/runs", "", bearer(other)); res.StatusCode != 200 {
		t.Fatalf("another session must survive a logout: %d", res.StatusCode)
	}
}

func TestLogoutAllEndsEverySession(t *testing.T) {
	h := newHarness(t, setup{})
	tok := h.bearerLogin()
	h.login()
	if code := h.admin("POST", "/api/logout-all", "", nil); code != 200 {
		t.Fatalf("logout-all: %d", code)
	}
	if res := h.do("GET", "/api/runs", "", map[string]string{"Authorization": "Bearer " + tok}); res.StatusCode != 401 {
		t.Fatalf("bearer after logout-all: %d, want 401", res.StatusCode)
	}
	if code := h.admin("GET", "/api/runs", "", nil); code != 401 {
		t.Fatalf("cookie after logout-all: %d, want 401", code)
	}
}

func TestForeignHostRefusedBeforeRouting(t *testing.T) {
	h := newHarness(t, setup{})
	_, port, _ := net.SplitHostPort(h.ts.Listener.Addr().String())
	evil := "evil.example:" + port
	for _, path := range []string{"/healthz", "/api/login", "/v1/models"} {
		req, _ := http.NewRequest("GET", h.ts.URL+path, nil)
		req.Host = evil
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("GET %s with Host %s: %d, want 421", path, evil, res.StatusCode)
		}
	}
	// The DNS-rebinding websocket: Origin and Host agree, both the attacker's.
	hdr := http.Header{"Host": {evil}, "Origin": {"http://" + evil}}
	if _, res, err := websocket.DefaultDialer.Dial(h.wsURL("/ws/chat"), hdr); err == nil || res == nil || res.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("rebound websocket: %v, want 421", err)
	}
	// The server's own names still work.
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port} {
		req, _ := http.NewRequest("GET", h.ts.URL+"/healthz", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("Host %s: %d", host, res.StatusCode)
		}
	}
}

// The payload of issue 16: every bad field is named, nothing is stored.
func TestRunLimitsAreEnforcedByTheServer(t *testing.T) {
	h := newHarness(t, setup{})
	h.login()
	var bad struct {
		Error struct {
			Fields []runs.FieldError `json:"fields"`
		} `json:"error"`
	}
	body := `{"base_model":"/","data":"/etc","max_steps":9000000000000000000,"batch_size":4096,"max_length":32768,"save_every":1}`
	if code := h.admin("POST", "/api/runs", body, &bad); code != 400 {
		t.Fatalf("issue 16's run: %d, want 400", code)
	}
	var named []string
	for _, f := range bad.Error.Fields {
		named = append(named, f.Field)
	}
	for _, f := range []string{"base_model", "data", "max_steps", "batch_size", "max_length", "save_every"} {
		if !slices.Contains(named, f) {
			t.Errorf("400 does not name %s: %v", f, bad.Error.Fields)
		}
	}
	var list struct{ Runs []runs.Run }
	if h.admin("GET", "/api/runs", "", &list); len(list.Runs) != 0 {
		t.Fatalf("a refused run was stored: %+v", list.Runs)
	}
}

func TestQueuedRunsAreCapped(t *testing.T) {
	// The fake trainer takes 5 ms a step; a million steps keep the first run busy.
	h := newHarness(t, setup{})
	h.login()
	base, data := t.TempDir(), t.TempDir()
	run := fmt.Sprintf(`{"base_model":%q,"data":%q,"max_steps":1000000,"pipeline":[]}`, base, data)
	code := 0
	n := 0
	for ; n < 40; n++ {
		if code = h.admin("POST", "/api/runs", run, nil); code != 201 {
			break
		}
	}
	if code != http.StatusTooManyRequests || n > 16+1 {
		t.Fatalf("after %d runs: %d, want 429 once 16 wait", n, code)
	}
}

func TestForwardedHeadersOnlyFromTrustedProxies(t *testing.T) {
	chat := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
	for _, trusted := range []bool{false, true} {
		var logs bytes.Buffer
		h := newHarness(t, setup{noRuns: true, mutate: func(o *server.Options) {
			o.ChatLimiter = auth.NewLimiter(0.001, 1) // one ask per client
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if trusted {
				o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			}
		}})
		from := func(client string) int {
			res := h.do("POST", "/v1/chat/completions", chat, map[string]string{"X-Forwarded-For": "198.51.100.1, " + client})
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode
		}
		first, other, again := from("203.0.113.9"), from("203.0.113.10"), from("203.0.113.9")
		if trusted && (first != 200 || other != 200 || again != 429) {
			t.Errorf("behind a trusted proxy: %d %d %d, want 200 200 429 (one bucket per forwarded client)", first, other, again)
		}
		if !trusted && (first != 200 || other != 429) {
			t.Errorf("no trusted proxy: %d %d, want 200 429 (forwarded addresses ignored)", first, other)
		}
		if got := strings.Contains(logs.String(), "client=203.0.113.9"); got != trusted {
			t.Errorf("trusted=%v: logs name the forwarded client: %v", trusted, got)
		}
		res := h.do("POST", "/api/login", `{"password":"`+password+`"}`, map[string]string{"X-Forwarded-Proto": "https"})
		res.Body.Close()
		if c := res.Cookies()[0]; c.Secure != trusted {
			t.Errorf("trusted=%v: cookie Secure=%v behind X-Forwarded-Proto: https", trusted, c.Secure)
		}
	}
}

// dialFrom opens the chat socket from a given loopback address (127.0.0.0/8 is all loopback
// on Linux), so one test can be several clients.
func (h *harness) dialFrom(ip string) *websocket.Conn {
	h.t.Helper()
	d := *websocket.DefaultDialer
	d.NetDialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext
	c, _, err := d.Dial(h.wsURL("/ws/chat"), http.Header{"Origin": {h.ts.URL}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	return c
}

func TestStreamsPerClientCapped(t *testing.T) {
	// Slow tokens keep the first streams open while the others ask.
	h := newHarness(t, setup{noRuns: true, delay: 20 * time.Millisecond, engine: engine.Config{MaxBatch: 16, MaxQueue: 64}})
	var open []*websocket.Conn
	for range 4 {
		c := h.dialFrom("127.0.0.1")
		ask(t, c, "hi")
		if f := read(t, c); f.Type != "token" {
			t.Fatalf("stream within the cap: %+v", f)
		}
		open = append(open, c)
	}
	extra := h.dialFrom("127.0.0.1")
	ask(t, extra, "hi")
	if f := read(t, extra); f.Type != "error" || f.Code != "too_many_streams" || f.RetryAfterS < 1 {
		t.Fatalf("fifth stream of one client: %+v, want a too_many_streams error with a retry hint", f)
	}
	res := h.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, nil)
	var body struct{ Error struct{ Code string } }
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != 429 || body.Error.Code != "too_many_streams" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("/v1 beyond the cap: %d %+v", res.StatusCode, body)
	}
	// Another client is not affected.
	other := h.dialFrom("127.0.0.2")
	ask(t, other, "hi")
	if f := read(t, other); f.Type != "token" {
		t.Fatalf("another client: %+v", f)
	}
	// A finished stream gives its place back.
	open[0].WriteJSON(map[string]string{"type": "stop"})
	if _, _, f := readAnswer(t, open[0]); f.Type != "done" {
		t.Fatalf("stopped stream: %+v", f)
	}
	ask(t, extra, "hi")
	if f := read(t, extra); f.Type != "token" {
		t.Fatalf("after a place was freed: %+v", f)
	}
}

func TestPanicInModelLoadIsAnError(t *testing.T) {
	load := server.RecoverLoad(func(ctx context.Context, name, dir, adapter string) (engine.Bundle, error) {
		var s []int
		_ = s[3] // what chat.Parse did on a trailing backslash
		return engine.Bundle{}, nil
	})
	if _, err := load(context.Background(), "bad", "/models/bad", ""); err == nil || !strings.Contains(err.Error(), "/models/bad") {
		t.Fatalf("panicking loader: %v, want an error naming the directory", err)
	}
}

// OpenAI's clients switch on error.type; medqa's own code stays in error.code.
func TestOpenAIErrorTypes(t *testing.T) {
	h := newHarness(t, setup{noRuns: true})
	for _, c := range []struct {
		body      string
		status    int
		typ, code string
	}{
		{`{"messages":[]}`, 400, "invalid_request_error", "bad_request"},
		{`{"messages":[{"role":"user","content":"` + strings.Repeat("x", 2<<20) + `"}]}`, 413, "invalid_request_error", "body_too_large"},
	} {
		res := h.do("POST", "/v1/chat/completions", c.body, nil)
		var b struct {
			Error struct{ Type, Code, Message string }
		}
		json.NewDecoder(res.Body).Decode(&b)
		res.Body.Close()
		if res.StatusCode != c.status || b.Error.Type != c.typ || b.Error.Code != c.code || b.Error.Message == "" {
			t.Errorf("%.40s: %d %+v; want %d type %s code %s", c.body, res.StatusCode, b.Error, c.status, c.typ, c.code)
		}
	}
}

// Logs carry method, path, route, status, size, time and client: never the query string,
// headers or bodies, where secrets travel.
func TestLogsCarryNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, setup{noRuns: true, mutate: func(o *server.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) }})
	res := h.do("POST", "/api/login?token=SECRET-QUERY", `{"password":"SECRET-BODY"}`, map[string]string{"Authorization": "Bearer SECRET-HEADER"})
	res.Body.Close()
	if !strings.Contains(logs.String(), "path=/api/login") {
		t.Fatalf("no request line: %s", logs.String())
	}
	if strings.Contains(logs.String(), "SECRET") {
		t.Fatalf("a secret reached the logs: %s", logs.String())
	}
}
