package server_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"medqa/backend/server"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestSecurityHeadersHealthAndMetrics(t *testing.T) {
	h := newHarness(t, setup{})
	res := h.do("GET", "/healthz", "", nil)
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
		res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("healthz %d, headers %v", res.StatusCode, res.Header)
	}
	res = h.do("GET", "/readyz", "", nil)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("readyz with a model: %d", res.StatusCode)
	}
	c := h.mustDial("/ws/chat")
	ask(t, c, "q")
	readAnswer(t, c)
	res = h.do("GET", "/metrics", "", nil)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, m := range []string{"medqa_http_requests_total", "medqa_engine_queue_depth", "medqa_engine_active_streams",
		"medqa_time_to_first_token_seconds_count 1", "medqa_decode_tokens_per_second_bucket", "medqa_websocket_connections 1",
		`medqa_generations_total{finish_reason="stop"} 1`, "medqa_training_step", "medqa_training_loss", "medqa_training_running 0"} {
		if !strings.Contains(string(body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func TestPagesAndStaticMounted(t *testing.T) {
	h := newHarness(t, setup{noRuns: true, mutate: func(o *server.Options) {
		o.Static = fstest.MapFS{"js/chat.js": {Data: []byte("console.log(1)")}}
		o.Pages = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page "+r.URL.Path) })
	}})
	res := h.do("GET", "/static/js/chat.js", "", nil)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "console.log(1)" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("static: %q %v", body, res.Header)
	}
	res = h.do("GET", "/admin", "", nil)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "page /admin" || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("pages: %q", body)
	}
	// Without a run manager the admin API is absent, not open.
	if res := h.do("GET", "/api/runs", "", nil); res.StatusCode != 401 {
		t.Fatalf("admin API without a run manager, no session: %d", res.StatusCode)
	}
	h.login()
	if code := h.admin("GET", "/api/runs", "", nil); code != 503 {
		t.Fatalf("admin API without a run manager: %d, want 503", code)
	}
}
