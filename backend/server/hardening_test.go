package server_test

import (
	"encoding/json"
	"testing"
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
