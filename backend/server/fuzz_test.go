package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"medqa/backend/auth"
	"medqa/backend/server"
)

// FuzzChatCompletions decodes any body as /v1/chat/completions does, through the whole
// handler on the fake model: the answer is a completion or an OpenAI-shaped client error,
// never a 500 or a panic.
func FuzzChatCompletions(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"What is anemia?"}],"max_tokens":4}`,
		`{"messages":[{"role":"developer","content":[{"type":"text","text":"be brief"}]},{"role":"user","content":"x"}],"temperature":0.5,"seed":-1}`,
		`{"messages":[{"role":"tool","content":"x"}],"n":2}`,
		`{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":-5,"top_p":2,"top_k":-1}`,
		`{"messages":[{"role":"user","content":null}]}`,
		`{"messages":`,
	} {
		f.Add(s)
	}
	h := newHarness(f, setup{noRuns: true, reply: "ok.", mutate: func(o *server.Options) {
		o.ChatLimiter = auth.NewLimiter(1e9, 1e9)
	}})
	handler := h.srv.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
		r.Host = "localhost"
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		var out struct {
			Choices []json.RawMessage
			Error   *struct{ Type, Code, Message string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%d: not JSON: %q", w.Code, w.Body.String())
		}
		switch {
		case w.Code == http.StatusOK && len(out.Choices) == 1:
		case w.Code >= 400 && w.Code < 500 && out.Error != nil && out.Error.Type != "" && out.Error.Code != "" && out.Error.Message != "":
		default:
			t.Fatalf("%d %q for %q", w.Code, w.Body.String(), body)
		}
	})
}
