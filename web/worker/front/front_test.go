package front

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The wrangler test in web/worker runs all of this inside workerd; this one checks the Go side
// alone, fast, with an ordinary transport.
func TestFront(t *testing.T) {
	var sawOrigin, sawCookie string
	be := http.NewServeMux()
	be.HandleFunc("GET /api/session", func(w http.ResponseWriter, r *http.Request) {
		sawCookie = r.Header.Get("Cookie")
		if sawCookie != "medqa_session=ok" {
			io.WriteString(w, `{"authenticated":false}`) // as the backend answers
			return
		}
		io.WriteString(w, `{"authenticated":true,"csrf_token":"t1"}`)
	})
	be.HandleFunc("GET /api/runs", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"runs":[{"id":7,"status":"succeeded","stage":"quantize","config":{"max_steps":5},"metrics":{"step":5}}]}`)
	})
	be.HandleFunc("GET /api/runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"no such run"}`, http.StatusNotFound)
	})
	var sawXFF, sawProto string
	be.HandleFunc("POST /api/runs/7/cancel", func(w http.ResponseWriter, r *http.Request) {
		sawOrigin = r.Header.Get("Origin")
		sawXFF, sawProto = r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto")
		w.WriteHeader(http.StatusAccepted)
	})
	backend := httptest.NewServer(be)
	defer backend.Close()
	base, _ := url.Parse(backend.URL)
	h := Front(base, http.DefaultTransport)

	do := func(method, path, cookie, origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://medqa.example"+path, nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("GET", "/admin/runs", "", ""); w.Code != http.StatusSeeOther {
		t.Errorf("anonymous /admin/runs = %d", w.Code)
	}
	w := do("GET", "/admin/runs", "medqa_session=ok", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `content="t1"`) || !strings.Contains(w.Body.String(), `href="/admin/runs/7"`) {
		t.Errorf("signed-in /admin/runs = %d (backend saw cookie %q)", w.Code, sawCookie)
	}
	if w := do("GET", "/admin/runs/zz", "medqa_session=ok", ""); w.Code != http.StatusNotFound {
		t.Errorf("unknown run = %d", w.Code)
	}
	if w := do("POST", "/api/runs/7/cancel", "medqa_session=ok", "http://medqa.example"); w.Code != http.StatusAccepted || sawOrigin != backend.URL {
		t.Errorf("same-origin POST = %d, backend saw Origin %q, want %q", w.Code, sawOrigin, backend.URL)
	}
	// The visitor's address as the backend trusts it from a proxy: Cloudflare's, never what
	// the visitor put in X-Forwarded-For.
	r := httptest.NewRequest("POST", "https://medqa.example/api/runs/7/cancel", nil)
	r.Header.Set("CF-Connecting-IP", "203.0.113.9")
	r.Header.Set("X-Forwarded-For", "1.1.1.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if sawXFF != "203.0.113.9" || sawProto != "https" {
		t.Errorf("backend saw X-Forwarded-For %q, X-Forwarded-Proto %q; want 203.0.113.9, https", sawXFF, sawProto)
	}
	if do("POST", "/api/runs/7/cancel", "medqa_session=ok", "https://evil.example"); sawOrigin != "https://evil.example" {
		t.Errorf("a foreign Origin must reach the backend unchanged, saw %q", sawOrigin)
	}
}
