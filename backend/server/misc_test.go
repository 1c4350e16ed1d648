package server_test

import (
	"errors"
	"io"
	"strings"
	"testing"
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
