package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Cookie and header names.
const (
	CookieName = "medqa_session"
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token" // form field, for plain HTML forms
)

// Config configures New.
type Config struct {
	Dir        string    // data directory holding the password hash
	Password   string    // MEDQA_ADMIN_PASSWORD; empty: stored or generated
	Announce   io.Writer // where a generated password is shown once (a terminal); nil: PasswordFile
	SessionTTL time.Duration
	Cost       int      // bcrypt cost; 0: bcrypt.DefaultCost
	Login      *Limiter // login attempts per client; nil: 5 at once, then one per 10 s
}

// Auth holds the admin password hash and the live sessions (in memory: a restart logs
// everyone out, which is the safe direction).
type Auth struct {
	// PasswordFile is where this start wrote a generated password ("" when it wrote none
	// there); the caller logs the path, never the password.
	PasswordFile string

	hash  []byte
	ttl   time.Duration
	login *Limiter
	now   func() time.Time

	mu       sync.Mutex
	sessions map[[32]byte]*Session // keyed by the token's SHA-256, not the token
}

// Session is a logged-in admin.
type Session struct {
	CSRF    string
	Expires time.Time
}

// New loads or creates the admin password hash.
func New(cfg Config) (*Auth, error) {
	if cfg.Cost == 0 {
		cfg.Cost = bcrypt.DefaultCost
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Login == nil {
		cfg.Login = NewLimiter(0.1, 5)
	}
	h, pwFile, err := loadHash(cfg.Dir, cfg.Password, cfg.Cost, cfg.Announce)
	if err != nil {
		return nil, err
	}
	return &Auth{PasswordFile: pwFile, hash: h, ttl: cfg.SessionTTL, login: cfg.Login, now: time.Now, sessions: map[[32]byte]*Session{}}, nil
}

func token() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Session returns the request's live session: from the cookie, or from an
// "Authorization: Bearer <token>" header for API clients.
func (a *Auth) Session(r *http.Request) (*Session, bool) {
	tok := credential(r)
	if tok == "" {
		return nil, false
	}
	key := sha256.Sum256([]byte(tok))
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[key]
	if !ok {
		return nil, false
	}
	if a.now().After(s.Expires) {
		delete(a.sessions, key)
		return nil, false
	}
	return s, true
}

// credential is the token the request authenticates with: the cookie, else a bearer header.
// Session and LogoutHandler both use it, so logout revokes exactly what was accepted.
func credential(r *http.Request) string {
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimPrefix(h, "Bearer ")
	}
	return ""
}

// CSRFToken is the token pages embed for their forms; "" without a session.
func (a *Auth) CSRFToken(r *http.Request) string {
	if s, ok := a.Session(r); ok {
		return s.CSRF
	}
	return ""
}

// bearer reports whether the request authenticates with a header rather than a cookie;
// browsers never add such headers on their own, so those requests need no CSRF token.
func bearer(r *http.Request) bool {
	_, err := r.Cookie(CookieName)
	return err != nil && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// RequireSession answers 401 to requests without a session, and 403 to state-changing ones
// without the session's CSRF token.
func (a *Auth) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.Session(r)
		if !ok {
			Error(w, http.StatusUnauthorized, "login required")
			return
		}
		if !safeMethod(r.Method) && !bearer(r) && !validCSRF(r, s.CSRF) {
			Error(w, http.StatusForbidden, "missing or bad CSRF token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		got = r.PostFormValue(CSRFField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// LoginHandler checks {"password": "..."} (JSON or form), rate-limited per client, and on
// success sets the session cookie and answers {"csrf_token": "..."} (plus "token" when the
// body asks with "bearer": true, for clients that send Authorization headers instead).
func (a *Auth) LoginHandler(w http.ResponseWriter, r *http.Request) {
	if ok, wait := a.login.Allow(ClientIP(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		Error(w, http.StatusTooManyRequests, "too many login attempts; try again later")
		return
	}
	var body struct {
		Password string `json:"password"`
		Bearer   bool   `json:"bearer"` // API clients: also return the token for an Authorization header
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			Error(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
	} else {
		body.Password = r.PostFormValue("password")
	}
	if bcrypt.CompareHashAndPassword(a.hash, []byte(body.Password)) != nil {
		Error(w, http.StatusUnauthorized, "wrong password")
		return
	}
	tok := token()
	s := &Session{CSRF: token(), Expires: a.now().Add(a.ttl)}
	a.mu.Lock()
	a.sessions[sha256.Sum256([]byte(tok))] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: tok, Path: "/", Expires: s.Expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: IsHTTPS(r),
	})
	resp := map[string]any{"csrf_token": s.CSRF, "expires": s.Expires}
	if body.Bearer {
		resp["token"] = tok
	}
	writeJSON(w, http.StatusOK, resp)
}

// LogoutHandler ends the session the request authenticated with (cookie or bearer token);
// mount it behind RequireSession.
func (a *Auth) LogoutHandler(w http.ResponseWriter, r *http.Request) {
	if tok := credential(r); tok != "" {
		a.mu.Lock()
		delete(a.sessions, sha256.Sum256([]byte(tok)))
		a.mu.Unlock()
	}
	a.clearCookie(w, r)
}

// LogoutAllHandler ends every session, this one included (a leaked token, a shared
// machine); mount it behind RequireSession.
func (a *Auth) LogoutAllHandler(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	n := len(a.sessions)
	clear(a.sessions)
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: IsHTTPS(r)})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "ended": n})
}

func (a *Auth) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: IsHTTPS(r)})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// SessionHandler tells a page whether it is logged in, and its CSRF token.
func (a *Auth) SessionHandler(w http.ResponseWriter, r *http.Request) {
	s, ok := a.Session(r)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"authenticated": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"authenticated": true, "csrf_token": s.CSRF, "expires": s.Expires})
}

// Error writes the JSON error shape every API of the server uses (OpenAI's).
func Error(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// IsHTTPS says whether the client reached the server over TLS: directly, or through a
// trusted proxy that said so (see TrustProxies). Cookies are Secure then.
func IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	v, _ := r.Context().Value(httpsKey{}).(bool)
	return v
}

type httpsKey struct{}
