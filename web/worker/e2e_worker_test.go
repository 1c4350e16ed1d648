//go:build linux && e2e

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"medqa/files/testkit"
)

// TestWranglerDev builds the worker as `make worker` does, runs it in npm's wrangler
// (`wrangler dev --local`, no Cloudflare account, no network) in front of a fake backend, and
// fetches pages, assets, proxied API calls and a proxied websocket through it. It needs node and
// npm; it skips without them except in CI, where it must run.
func TestWranglerDev(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and starts wrangler")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("npm not found: CI must run the Workers test (make deps-test installs it)")
		}
		t.Skip("npm not found")
	}
	pkg, _ := os.Getwd()
	wrangler := installWrangler(t, pkg)
	dir := buildWorker(t, pkg)
	be := newBackend()
	srv := httptest.NewServer(be)
	defer srv.Close()

	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, wrangler, "dev", "--local", "--ip", "127.0.0.1", "--port", fmt.Sprint(port),
		"--var", "MEDQA_BACKEND:"+srv.URL, "--log-level", "warn")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WRANGLER_SEND_METRICS=false", "CI=true", "NO_COLOR=1",
		"XDG_CONFIG_HOME="+filepath.Join(dir, ".config"), "HOME="+dir)
	var logs strings.Builder
	var logMu sync.Mutex
	cmd.Stdout = writerFunc(func(p []byte) { logMu.Lock(); logs.Write(p); logMu.Unlock() })
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // wrangler starts workerd: stop both
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			logMu.Lock()
			t.Logf("wrangler output:\n%s", logs.String())
			logMu.Unlock()
			files, _ := filepath.Glob(filepath.Join(dir, ".config", ".wrangler", "logs", "*.log"))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				t.Logf("%s:\n%s", f, b)
			}
		}
	}()

	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	var lastErr error
	// workerd compiles the worker first: seconds when idle, minutes when the suite runs beside it.
	if !testkit.Poll(240*time.Second, func() bool {
		res, err := client.Get(base + "/")
		if lastErr = err; err != nil {
			return false
		}
		res.Body.Close()
		lastErr = fmt.Errorf("status %s", res.Status)
		return res.StatusCode == http.StatusOK
	}) {
		t.Fatalf("wrangler dev did not answer on %s: %v", base, lastErr)
	}

	fetch := func(method, path string, body io.Reader, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	// Pages rendered by the Go worker, with the same headers as the server's.
	for path, want := range map[string]string{"/": "Not medical advice.", "/score": "Score an answer", "/admin/login": "Admin sign in"} {
		res, body := fetch("GET", path, nil)
		if res.StatusCode != 200 || !strings.Contains(body, want) || !strings.HasPrefix(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s = %d, CSP %q, body lacks %q", path, res.StatusCode, res.Header.Get("Content-Security-Policy"), want)
		}
	}
	// Static assets from Cloudflare's asset store.
	for path, ctype := range map[string]string{"/static/css/app.css": "text/css", "/static/js/chat.js": "javascript", "/wasm/wasm_exec.js": "javascript"} {
		if res, body := fetch("GET", path, nil); res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), ctype) || len(body) < 100 {
			t.Errorf("GET %s = %d %q (%d bytes)", path, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
	}
	// Admin pages ask the backend for the session with the visitor's cookie.
	if res, _ := fetch("GET", "/admin/runs", nil); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login") {
		t.Errorf("anonymous /admin/runs = %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	// Login goes through the /api proxy; the same-origin Origin is translated for the backend.
	res, _ := fetch("POST", "/api/login", strings.NewReader(`{"password":"pw"}`), "Content-Type", "application/json", "Origin", base)
	cookie := res.Header.Get("Set-Cookie")
	if res.StatusCode != http.StatusNoContent || !strings.HasPrefix(cookie, "medqa_session=s1") {
		t.Fatalf("POST /api/login = %d, Set-Cookie %q (backend saw Origin %q)", res.StatusCode, cookie, be.lastOrigin())
	}
	if got := be.lastOrigin(); got != srv.URL {
		t.Errorf("backend saw Origin %q, want its own %q", got, srv.URL)
	}
	session := strings.Split(cookie, ";")[0]
	res, body := fetch("GET", "/admin/runs", nil, "Cookie", session)
	if res.StatusCode != 200 || !strings.Contains(body, `<meta name="csrf-token" content="tok-9">`) || !strings.Contains(body, "/admin/runs/7") {
		t.Errorf("signed-in /admin/runs = %d:\n%s", res.StatusCode, body)
	}
	res, body = fetch("GET", "/admin/runs/7", nil, "Cookie", session)
	if res.StatusCode != 200 || !strings.Contains(body, `class="series s-train" data-n="2"`) || !strings.Contains(body, "&#34;lora_r&#34;: 8") {
		t.Errorf("run page = %d:\n%s", res.StatusCode, body)
	}
	if res, _ := fetch("GET", "/admin/runs/nope", nil, "Cookie", session); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown run = %d", res.StatusCode)
	}
	// /v1 is proxied as is, server-sent events included.
	res, body = fetch("GET", "/v1/models", nil)
	if res.StatusCode != 200 || !strings.Contains(body, `"medqa-tiny"`) {
		t.Errorf("GET /v1/models = %d %q", res.StatusCode, body)
	}
	res, body = fetch("POST", "/v1/chat/completions", strings.NewReader(`{"stream":true}`), "Content-Type", "application/json")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("streamed completion = %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	// The chat websocket, through entry.mjs.
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http", "ws", 1)+"/ws/chat", http.Header{"Origin": {base}})
	if err != nil {
		t.Fatalf("websocket through the worker: %v", err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"type": "ask", "messages": []map[string]string{{"role": "user", "content": "hi"}}}); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for {
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		var f struct{ Type, Text string }
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("read frame: %v", err)
		}
		if f.Type == "done" {
			break
		}
		text.WriteString(f.Text)
	}
	if text.String() != "Hello from the backend." {
		t.Errorf("streamed text %q", text.String())
	}
	if got := be.lastOrigin(); got != srv.URL {
		t.Errorf("websocket reached the backend with Origin %q, want %q", got, srv.URL)
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// installWrangler runs npm once (package-lock.json pins wrangler) into web/worker/node_modules,
// which git ignores.
func installWrangler(t *testing.T, pkg string) string {
	bin := filepath.Join(pkg, "node_modules", ".bin", "wrangler")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = pkg
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	return bin
}

// buildWorker lays the worker out in a temp dir exactly as `make worker` does in web/worker.
func buildWorker(t *testing.T, pkg string) string {
	dir := t.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	run := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = pkg
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	run(nil, "run", "github.com/syumai/workers/cmd/workers-assets-gen", "-mode=go", "-o", filepath.Join(dir, "build"))
	run([]string{"GOOS=js", "GOARCH=wasm"}, "build", "-trimpath", "-ldflags=-s", "-o", filepath.Join(dir, "build", "app.wasm"), ".")
	copyFile(t, filepath.Join(pkg, "entry.mjs"), filepath.Join(dir, "entry.mjs"))
	copyFile(t, filepath.Join(pkg, "wrangler.toml"), filepath.Join(dir, "wrangler.toml"))
	copyTree(t, filepath.Join(pkg, "..", "..", "assets", "web"), filepath.Join(dir, "build", "public", "static"))
	copyFile(t, filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"), filepath.Join(dir, "build", "public", "wasm", "wasm_exec.js"))
	return dir
}

func copyTree(t *testing.T, src, dst string) {
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		copyFile(t, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// backend is a stand-in for `go run ./backend`: the API routes the worker reads and proxies.
type backend struct {
	*http.ServeMux
	mu     sync.Mutex
	origin string
}

func (b *backend) lastOrigin() string { b.mu.Lock(); defer b.mu.Unlock(); return b.origin }

func newBackend() *backend {
	b := &backend{ServeMux: http.NewServeMux()}
	signedIn := func(r *http.Request) bool { c, err := r.Cookie("medqa_session"); return err == nil && c.Value == "s1" }
	jsonOK := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	b.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.origin = r.Header.Get("Origin")
		b.mu.Unlock()
		if r.Header.Get("Origin") != "http://"+r.Host {
			http.Error(w, "cross-origin", http.StatusForbidden)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "medqa_session", Value: "s1", Path: "/", HttpOnly: true})
		w.WriteHeader(http.StatusNoContent)
	})
	b.HandleFunc("GET /api/session", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(r) {
			http.Error(w, `{"error":"no session"}`, http.StatusUnauthorized)
			return
		}
		jsonOK(w, map[string]string{"csrf_token": "tok-9"})
	})
	b.HandleFunc("GET /api/runs", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(r) {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		jsonOK(w, map[string]any{"runs": []map[string]any{{"id": 7, "status": "running", "config": map[string]any{"max_steps": 10}, "metrics": map[string]any{"step": 2, "loss": 2.5}}}})
	})
	b.HandleFunc("GET /api/runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(r) {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		if r.PathValue("id") != "7" {
			http.NotFound(w, r)
			return
		}
		jsonOK(w, map[string]any{"run": map[string]any{"id": 7, "status": "running", "config": map[string]any{"lora_r": 8, "max_steps": 10}, "metrics": map[string]any{"step": 2, "loss": 2.5}},
			"events": []map[string]any{{"seq": 1, "type": "step", "step": 1, "loss": 3.0}, {"seq": 2, "type": "step", "step": 2, "loss": 2.5}}, "models": []any{}})
	})
	b.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		jsonOK(w, map[string]any{"object": "list", "data": []map[string]string{{"id": "medqa-tiny", "object": "model"}}})
	})
	b.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, s := range []string{`{"choices":[{"delta":{"content":"Hi"}}]}`, "[DONE]"} {
			fmt.Fprintf(w, "data: %s\n\n", s)
			w.(http.Flusher).Flush()
		}
	})
	up := websocket.Upgrader{} // checks Origin == Host, as the real server does
	b.HandleFunc("GET /ws/chat", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.origin = r.Header.Get("Origin")
		b.mu.Unlock()
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		var ask map[string]any
		if c.ReadJSON(&ask) != nil {
			return
		}
		for _, tok := range []string{"Hello", " from", " the", " backend."} {
			c.WriteJSON(map[string]string{"type": "token", "text": tok})
		}
		c.WriteJSON(map[string]any{"type": "done"})
	})
	return b
}
