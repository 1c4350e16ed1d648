package auth

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestGeneratedPasswordShownOnceStoredAsHash(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	a, err := New(Config{Dir: dir, Announce: &out, Cost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out.String())
	pw := fields[len(fields)-1]
	stored, _ := os.ReadFile(filepath.Join(dir, HashFile))
	if len(pw) < 20 || bytes.Contains(stored, []byte(pw)) {
		t.Fatalf("password %q; stored file must hold only its hash: %q", pw, stored)
	}
	if bcrypt.CompareHashAndPassword(a.hash, []byte(pw)) != nil {
		t.Fatal("announced password does not match the hash")
	}
	out.Reset()
	b, err := New(Config{Dir: dir, Announce: &out, Cost: bcrypt.MinCost})
	if err != nil || out.Len() != 0 || bcrypt.CompareHashAndPassword(b.hash, []byte(pw)) != nil {
		t.Fatalf("second start must reuse the stored hash silently: %v %q", err, out.String())
	}
	os.WriteFile(filepath.Join(dir, HashFile), []byte("plaintext"), 0o600)
	if _, err := New(Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), HashFile) {
		t.Fatalf("corrupt hash file: %v, want an error naming it", err)
	}
}

func TestEnvPassword(t *testing.T) {
	if _, err := New(Config{Dir: t.TempDir(), Password: "short"}); err == nil {
		t.Fatal("short MEDQA_ADMIN_PASSWORD accepted")
	}
	dir := t.TempDir()
	a, err := New(Config{Dir: dir, Password: "correct horse", Cost: bcrypt.MinCost})
	if err != nil || bcrypt.CompareHashAndPassword(a.hash, []byte("correct horse")) != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, HashFile)); err == nil {
		t.Fatal("an environment password must not be written anywhere")
	}
}

func newTestAuth(t *testing.T) *Auth {
	a, err := New(Config{Dir: t.TempDir(), Password: "correct horse", Cost: bcrypt.MinCost, Login: NewLimiter(0.001, 3)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func login(t *testing.T, h http.Handler, pw string, tls bool) *httptest.ResponseRecorder {
	url := "http://medqa.test/api/login"
	if tls {
		url = "https://medqa.test/api/login" // httptest sets r.TLS for https URLs
	}
	r := httptest.NewRequest("POST", url, strings.NewReader(`{"password":"`+pw+`"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestLoginCookieFlagsAndRateLimit(t *testing.T) {
	a := newTestAuth(t)
	h := http.HandlerFunc(a.LoginHandler)
	if w := login(t, h, "wrong", false); w.Code != 401 {
		t.Fatalf("wrong password: %d", w.Code)
	}
	w := login(t, h, "correct horse", false)
	if w.Code != 200 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	c := w.Result().Cookies()[0]
	if c.Name != CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure {
		t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", c)
	}
	if strings.Contains(w.Body.String(), c.Value) {
		t.Fatal("session token echoed in the body without being asked for")
	}
	// Third attempt from the same client within the burst of 3 is still allowed; the fourth is not.
	login(t, h, "wrong", false)
	w = login(t, h, "correct horse", false)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("fourth attempt: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestSecureCookieUnderTLS(t *testing.T) {
	a := newTestAuth(t)
	w := login(t, http.HandlerFunc(a.LoginHandler), "correct horse", true)
	if c := w.Result().Cookies()[0]; !c.Secure {
		t.Fatalf("cookie over TLS not Secure: %+v", c)
	}
}

func TestRequireSessionAndCSRF(t *testing.T) {
	a := newTestAuth(t)
	w := login(t, http.HandlerFunc(a.LoginHandler), "correct horse", false)
	cookie := w.Result().Cookies()[0]
	csrf := a.CSRFToken(func() *http.Request { r := httptest.NewRequest("GET", "/", nil); r.AddCookie(cookie); return r }())
	if csrf == "" {
		t.Fatal("no CSRF token for a live session")
	}
	h := a.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	try := func(method string, withCookie bool, token string) int {
		r := httptest.NewRequest(method, "/api/runs", nil)
		if withCookie {
			r.AddCookie(cookie)
		}
		if token != "" {
			r.Header.Set(CSRFHeader, token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, c := range []struct {
		method string
		cookie bool
		token  string
		want   int
	}{
		{"GET", false, "", 401},
		{"POST", false, csrf, 401},
		{"GET", true, "", 204},
		{"POST", true, "", 403},
		{"POST", true, "forged", 403},
		{"POST", true, csrf, 204},
	} {
		if got := try(c.method, c.cookie, c.token); got != c.want {
			t.Errorf("%s cookie=%v token=%q: %d, want %d", c.method, c.cookie, c.token, got, c.want)
		}
	}
	// Expired sessions are gone.
	a.now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	if got := try("GET", true, ""); got != 401 {
		t.Fatalf("expired session: %d", got)
	}
}

func TestBearerNeedsNoCSRF(t *testing.T) {
	a := newTestAuth(t)
	r := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"password":"correct horse","bearer":true}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	a.LoginHandler(w, r)
	tok := w.Result().Cookies()[0].Value
	if !strings.Contains(w.Body.String(), tok) {
		t.Fatal("bearer login must return the token")
	}
	h := a.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	r = httptest.NewRequest("POST", "/api/runs", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 204 {
		t.Fatalf("bearer POST: %d", w.Code)
	}
}

func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://medqa.test:8080", true},
		{"http://MEDQA.test:8080", true},
		{"http://evil.example", false},
		{"http://medqa.test:9999", false},
		{"https://allowed.example", true},
		{"null", false},
	} {
		r := httptest.NewRequest("GET", "http://medqa.test:8080/ws/chat", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := SameOrigin(r, []string{"https://allowed.example"}); got != c.ok {
			t.Errorf("Origin %q: %v, want %v", c.origin, got, c.ok)
		}
	}
}

func TestLimiterRefills(t *testing.T) {
	l := NewLimiter(2, 2)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	for i := range 2 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d within burst refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over burst: %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("clients share a bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("no refill after 1/rate")
	}
}

func TestTrustProxiesTakesRightmostUntrusted(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrefixes("10.0.0.0/8,nonsense"); err == nil {
		t.Fatal("a bad entry was accepted")
	}
	var got string
	h := TrustProxies(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientIP(r) }))
	for _, c := range []struct{ peer, xff, want string }{
		{"10.1.2.3:5000", "203.0.113.9", "203.0.113.9"},
		{"10.1.2.3:5000", "1.1.1.1, 203.0.113.9, 10.9.9.9", "203.0.113.9"}, // spoofed 1.1.1.1 is left of the real client
		{"192.0.2.1:5000", "garbage, 203.0.113.9", "203.0.113.9"},
		{"10.1.2.3:5000", "10.2.2.2", "10.2.2.2"}, // only proxies: the farthest one
		{"10.1.2.3:5000", "", "10.1.2.3"},
		{"198.51.100.7:5000", "203.0.113.9", "198.51.100.7"}, // an untrusted peer's header is ignored
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
}

// Without a terminal the generated password goes to a private file, never to a stream that
// logs share.
func TestGeneratedPasswordWithoutTerminalGoesToPrivateFile(t *testing.T) {
	dir := t.TempDir()
	a, err := New(Config{Dir: dir, Cost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	if a.PasswordFile != filepath.Join(dir, PasswordFile) {
		t.Fatalf("PasswordFile %q", a.PasswordFile)
	}
	fi, err := os.Stat(a.PasswordFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	pw, _ := os.ReadFile(a.PasswordFile)
	if bcrypt.CompareHashAndPassword(a.hash, bytes.TrimSpace(pw)) != nil {
		t.Fatal("the file's password does not match the hash")
	}
}
