package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"medqa/trainer/runspec"
)

func get(t *testing.T, h http.Handler, path string, cookie bool) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie {
		r.AddCookie(&http.Cookie{Name: "medqa_session", Value: "s1"})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func signedIn() *fakeBackend {
	f := newFakeBackend()
	f.sessions["s1"] = true
	f.runs["r1"] = &fakeRun{detail: RunDetail{
		Run:    Run{ID: "r1", Status: "running", Step: 3, MaxSteps: 10, Loss: 2.5},
		Config: []byte(`{"lr":0.0002,"note":"<script>alert(1)</script>"}`),
		Events: []runspec.Record{{Type: "step", Step: new(int64(1)), Loss: new(3.0)}, {Type: "step", Step: new(int64(2)), Loss: new(2.75)},
			{Type: "eval", Step: new(int64(2)), ValLoss: new(2.9)}},
		Logs: []string{"step 1", "<b>not bold</b>"},
	}}
	f.order = []string{"r1"}
	return f
}

// Every page must work under CSP: no inline script, no style attribute, no inline handler, and
// every script is an external same-origin module.
var (
	inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>([^<]+)</script>`)
	scriptTag    = regexp.MustCompile(`<script[^>]*>`)
	styleAttr    = regexp.MustCompile(`\sstyle\s*=`)
	handlerAttr  = regexp.MustCompile(`\son[a-z]+\s*=`)
	styleTag     = regexp.MustCompile(`<style`)
	externalRef  = regexp.MustCompile(`(?:src|href)="(?:https?:)?//`)
)

func checkCSPClean(t *testing.T, path, html string) {
	t.Helper()
	for _, m := range inlineScript.FindAllStringSubmatch(html, -1) {
		if !strings.Contains(m[0], `type="application/json"`) {
			t.Errorf("%s: inline script %q", path, m[0])
		}
	}
	for _, tag := range scriptTag.FindAllString(html, -1) {
		if !strings.Contains(tag, `src="/static/js/`) {
			t.Errorf("%s: script not from /static/js: %s", path, tag)
		}
	}
	for _, re := range []*regexp.Regexp{styleAttr, handlerAttr, styleTag, externalRef} {
		if loc := re.FindStringIndex(html); loc != nil {
			t.Errorf("%s: %q near %q", path, re, html[max(0, loc[0]-60):min(len(html), loc[1]+60)])
		}
	}
}

func TestPagesRenderUnderCSP(t *testing.T) {
	f := signedIn()
	h := f.handler()
	for _, path := range []string{"/", "/score", "/admin/login", "/admin/runs", "/admin/runs/r1", "/admin/runs/r1/report"} {
		w := get(t, h, path, path != "/admin/login")
		if w.Code != http.StatusOK {
			t.Errorf("GET %s = %d", path, w.Code)
			continue
		}
		if got := w.Header().Get("Content-Security-Policy"); got != CSP {
			t.Errorf("%s: CSP header %q", path, got)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		checkCSPClean(t, path, w.Body.String())
	}
}

func TestChatPageHasDisclaimerAndDefaults(t *testing.T) {
	h := New(Deps{Chat: ChatSettings{Model: "m", Temperature: 0.3, TopP: 0.8, MaxTokens: 128, MaxTokensLimit: 512}})
	body := get(t, h, "/", false).Body.String()
	for _, want := range []string{"Not medical advice.", `id="temperature" type="number" min="0" max="2" step="0.05" value="0.3"`,
		`value="0.8"`, `max="512" step="1" value="128"`, `src="/static/js/chat.js"`, `aria-live="polite"`} {
		if !strings.Contains(body, want) {
			t.Errorf("chat page lacks %s", want)
		}
	}
}

func TestAdminNeedsSession(t *testing.T) {
	h := signedIn().handler()
	for _, path := range []string{"/admin", "/admin/runs", "/admin/runs/r1", "/admin/runs/r1/report"} {
		w := get(t, h, path, false)
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s = %d → %q", path, w.Code, w.Header().Get("Location"))
		}
		if strings.Contains(w.Body.String(), "csrf") {
			t.Errorf("anonymous GET %s leaks a CSRF token", path)
		}
	}
	if w := get(t, h, "/admin/runs/r1/chart", false); w.Code != http.StatusUnauthorized {
		t.Errorf("anonymous chart = %d, want 401", w.Code)
	}
	// Without an auth provider the admin pages are off, not open.
	if w := get(t, New(Deps{}), "/admin/runs", true); w.Code != http.StatusServiceUnavailable {
		t.Errorf("no Auth: /admin/runs = %d, want 503", w.Code)
	}
}

func TestSignedInPages(t *testing.T) {
	h := signedIn().handler()
	w := get(t, h, "/admin/runs", true)
	body := w.Body.String()
	if !strings.Contains(body, `<meta name="csrf-token" content="csrf-4f1c2a">`) {
		t.Error("runs page lacks the CSRF meta tag")
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("admin pages must not be cached")
	}
	for _, f := range DefaultRunForm() {
		if !strings.Contains(body, `name="`+f.Name+`"`) || !strings.Contains(body, `value="`+f.Default+`"`) {
			t.Errorf("start form lacks %s with default %q", f.Name, f.Default)
		}
	}
	if !strings.Contains(body, `<progress max="1" value="0.3"`) {
		t.Error("runs table lacks the progress bar")
	}
	body = get(t, h, "/admin/runs/r1", true).Body.String()
	// The stored config is shown verbatim (indented) and escaped.
	if !strings.Contains(body, `&#34;note&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;`) {
		t.Errorf("config not shown escaped:\n%s", body)
	}
	if strings.Contains(body, "<b>not bold</b>") {
		t.Error("log lines not escaped")
	}
	if !strings.Contains(body, `data-last-step="2"`) || !strings.Contains(body, `data-max-steps="10"`) {
		t.Error("run root lacks its step data")
	}
	chart := get(t, h, "/admin/runs/r1/chart", true).Body.String()
	if !strings.HasPrefix(chart, "<svg") || !strings.Contains(chart, `class="series s-train" data-n="2"`) {
		t.Errorf("chart fragment:\n%s", chart)
	}
	if w := get(t, h, "/admin/runs/nope", true); w.Code != http.StatusNotFound {
		t.Errorf("unknown run = %d", w.Code)
	}
	if w := get(t, h, "/admin/login?next=/admin/runs/r1", true); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin/runs/r1" {
		t.Errorf("signed-in login page = %d → %q", w.Code, w.Header().Get("Location"))
	}
}

type failingRuns struct{ *fakeBackend }

func (*failingRuns) ListRuns(context.Context) ([]Run, error) { return nil, errors.New("disk on fire") }

func TestStoreErrorIs500WithoutDetails(t *testing.T) {
	f := signedIn()
	w := get(t, New(Deps{Auth: f, Runs: &failingRuns{f}}), "/admin/runs", true)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "disk on fire") {
		t.Errorf("store failure = %d %q", w.Code, w.Body.String())
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/admin/runs",
		"/admin/runs/r1":        "/admin/runs/r1",
		"//evil.example/admin/": "/admin/runs",
		"https://evil.example":  "/admin/runs",
		"/admin/\\evil":         "/admin/runs",
		"/score":                "/admin/runs",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatic(t *testing.T) {
	wasm := []byte("\x00asm fake module")
	var gz bytes.Buffer
	gz.WriteString("pretend-gzip")
	h := New(Deps{Wasm: fstest.MapFS{
		"medqa.wasm":    {Data: wasm},
		"medqa.wasm.gz": {Data: gz.Bytes()},
	}})
	w := get(t, h, "/static/css/app.css", false)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") || w.Header().Get("ETag") == "" {
		t.Fatalf("css: %d %v", w.Code, w.Header())
	}
	r := httptest.NewRequest(http.MethodGet, "/static/css/app.css", nil)
	r.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w2 := httptest.NewRecorder()
	h.ServeHTTP(w2, r)
	if w2.Code != http.StatusNotModified {
		t.Errorf("revalidation = %d, want 304", w2.Code)
	}
	if w := get(t, h, "/static/js/chat.js", false); !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("js content type %q", w.Header().Get("Content-Type"))
	}
	w = get(t, h, "/wasm/medqa.wasm", false)
	if w.Header().Get("Content-Type") != "application/wasm" || !bytes.Equal(w.Body.Bytes(), wasm) {
		t.Errorf("wasm: %q %q", w.Header().Get("Content-Type"), w.Body.Bytes())
	}
	r = httptest.NewRequest(http.MethodGet, "/wasm/medqa.wasm", nil)
	r.Header.Set("Accept-Encoding", "gzip, br")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Header().Get("Content-Encoding") != "gzip" || w.Body.String() != "pretend-gzip" {
		t.Errorf("gzip variant not chosen: %v", w.Header())
	}
	for _, p := range []string{"/static/", "/wasm/medqa.wasm.gz", "/static/nope.js"} {
		if w := get(t, h, p, false); w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, w.Code)
		}
	}
	// The mux cleans paths before they reach it; the handler refuses escapes on its own too.
	if w := get(t, staticHandler(fstest.MapFS{"a": {Data: []byte("x")}}), "/../a", false); w.Code != http.StatusOK {
		t.Errorf("cleaned path = %d", w.Code)
	}
}

// The committed *_templ.go files must be what templ v0.3.1100 generates from the .templ files,
// so that a plain `go build` builds the pages that the sources describe.
func TestTemplGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the templ generator")
	}
	srcs, _ := filepath.Glob("*.templ")
	dir := t.TempDir()
	for _, s := range srcs {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, s), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "run", "github.com/a-h/templ/cmd/templ@v0.3.1100", "generate", "-path", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("templ generate: %v\n%s", err, out)
	}
	for _, s := range srcs {
		gen := strings.TrimSuffix(s, ".templ") + "_templ.go"
		want, err := os.ReadFile(filepath.Join(dir, gen))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatalf("%s: not committed (run templ generate): %v", gen, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go run github.com/a-h/templ/cmd/templ@v0.3.1100 generate -path web`", gen)
		}
	}
}

// Issue 16: tags were remembered by name alone, so an edit under --static kept the old tag
// and browsers kept the old file.
func TestStaticETagFollowsEdits(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.css")
	os.WriteFile(p, []byte("body{color:red}"), 0o644)
	h := staticHandler(os.DirFS(dir))
	first := get(t, h, "/app.css", false).Header().Get("ETag")
	os.WriteFile(p, []byte("body{color:blue}"), 0o644) // same size: the hash must still move
	os.Chtimes(p, time.Now().Add(time.Second), time.Now().Add(time.Second))
	w := get(t, h, "/app.css", false)
	if second := w.Header().Get("ETag"); second == first || w.Body.String() != "body{color:blue}" {
		t.Fatalf("after an edit: ETag %s (was %s), body %q", second, first, w.Body.String())
	}
}
