package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/engine/fakemodel"
	"medqa/backend/runs"
	"medqa/backend/runs/faketrainer"
	"medqa/backend/server"
)

func TestMain(m *testing.M) {
	if os.Getenv(faketrainer.EnvVar) != "" {
		os.Exit(faketrainer.Main())
	}
	os.Exit(m.Run())
}

const password = "correct horse battery"

type harness struct {
	t      testing.TB
	ts     *httptest.Server
	srv    *server.Server
	eng    *engine.Engine
	model  *fakemodel.Model
	runs   *runs.Manager
	cookie string
	csrf   string
}

type setup struct {
	reply   string
	delay   time.Duration
	engine  engine.Config
	mutate  func(*server.Options)
	noRuns  bool
	trainer []string // extra env for the fake trainer
}

func newHarness(t testing.TB, su setup) *harness {
	t.Helper()
	if su.reply == "" {
		su.reply = "Anemia is a lack of healthy red blood cells — ça va."
	}
	model, b := fakemodel.New("fake-base", su.reply, su.delay)
	eng := engine.New(su.engine, &b)
	dir := t.TempDir()
	a, err := auth.New(auth.Config{Dir: dir, Password: password, Cost: bcrypt.MinCost, Login: auth.NewLimiter(1, 1000)})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, eng: eng, model: model}
	opt := server.Options{
		Engine: eng, Auth: a,
		LoadModel: func(ctx context.Context, name, dir, adapter string) (engine.Bundle, error) {
			_, nb := fakemodel.New(name, "served from "+dir, su.delay)
			return nb, nil
		},
		ChatLimiter: auth.NewLimiter(1000, 1000),
		Logger:      slog.New(slog.DiscardHandler),
		PingEvery:   time.Second,
	}
	if !su.noRuns {
		rm, err := runs.Open(runs.Options{Dir: dir, KillAfter: 5 * time.Second, Roots: []string{os.TempDir()}, // fixtures are temporary directories
			Launcher: runs.Local{Command: []string{os.Args[0]}, Env: append([]string{faketrainer.EnvVar + "=1", faketrainer.StepEnv + "=5ms"}, su.trainer...)}})
		if err != nil {
			t.Fatal(err)
		}
		h.runs, opt.Runs = rm, rm
	}
	if su.mutate != nil {
		su.mutate(&opt)
	}
	h.srv = server.New(opt)
	h.ts = httptest.NewUnstartedServer(nil)
	h.ts.Config = h.srv.HTTPServer("")
	h.ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx, h.ts.Config)
		h.ts.Close()
	})
	return h
}

func (h *harness) wsURL(path string) string {
	return "ws" + strings.TrimPrefix(h.ts.URL, "http") + path
}

// dial opens a websocket; origin "" sends none (a non-browser client).
func (h *harness) dial(path, origin string, withSession bool) (*websocket.Conn, *http.Response, error) {
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	if withSession {
		hdr.Set("Cookie", h.cookie)
	}
	return websocket.DefaultDialer.Dial(h.wsURL(path), hdr)
}

func (h *harness) mustDial(path string) *websocket.Conn {
	h.t.Helper()
	c, _, err := h.dial(path, h.ts.URL, false)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	return c
}

func (h *harness) login() {
	h.t.Helper()
	res := h.do("POST", "/api/login", `{"password":"`+password+`"}`, nil)
	if res.StatusCode != 200 {
		h.t.Fatalf("login: %d", res.StatusCode)
	}
	var body struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	h.cookie = res.Cookies()[0].Name + "=" + res.Cookies()[0].Value
	h.csrf = body.CSRF
}

// do sends a request; hdr may set Cookie, X-CSRF-Token, Origin.
func (h *harness) do(method, path, body string, hdr map[string]string) *http.Response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, h.ts.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

// admin sends an authenticated request with the CSRF token and decodes the JSON answer.
func (h *harness) admin(method, path, body string, out any) int {
	h.t.Helper()
	res := h.do(method, path, body, map[string]string{"Cookie": h.cookie, auth.CSRFHeader: h.csrf})
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

type frame struct {
	Type         string `json:"type"`
	Text         string `json:"text"`
	FinishReason string `json:"finish_reason"`
	Model        string `json:"model"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	RetryAfterS  int    `json:"retry_after_s"`
	Usage        struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Timing struct {
		TTFTMs     float64 `json:"ttft_ms"`
		TokensPerS float64 `json:"tokens_per_s"`
	} `json:"timing"`
}

func ask(t testing.TB, c *websocket.Conn, content string) {
	t.Helper()
	if err := c.WriteJSON(map[string]any{"type": "ask", "messages": []map[string]string{{"role": "user", "content": content}}}); err != nil {
		t.Fatal(err)
	}
}

func read(t testing.TB, c *websocket.Conn) frame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var f frame
	if err := c.ReadJSON(&f); err != nil {
		t.Fatal(err)
	}
	return f
}

// readAnswer reads token frames up to the done or error frame.
func readAnswer(t testing.TB, c *websocket.Conn) (string, int, frame) {
	t.Helper()
	var b strings.Builder
	n := 0
	for {
		f := read(t, c)
		if f.Type != "token" {
			return b.String(), n, f
		}
		b.WriteString(f.Text)
		n++
	}
}
