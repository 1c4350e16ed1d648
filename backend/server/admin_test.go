package server_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"medqa/backend/auth"
	"medqa/backend/runs"
	"medqa/backend/server"
	"medqa/files/testkit"
	"medqa/trainer/runspec"
)

// concrete fills a route pattern's {id}.
func concrete(route string) (method, path string) {
	method, path, _ = strings.Cut(route, " ")
	return method, strings.ReplaceAll(path, "{id}", "1")
}

func TestEveryAdminRouteNeedsSessionCSRFAndSameOrigin(t *testing.T) {
	h := newHarness(t, setup{})
	h.login()
	for _, route := range server.AdminRoutes {
		method, path := concrete(route)
		if strings.HasPrefix(path, "/ws/") {
			// No session: refused before the upgrade.
			if _, res, err := h.dial(path, h.ts.URL, false); err == nil || res.StatusCode != 401 {
				t.Errorf("%s without a session: %v", route, err)
			}
			// A session, but a foreign page.
			if _, res, err := h.dial(path, "http://evil.example", true); err == nil || res == nil || res.StatusCode != 403 {
				t.Errorf("%s cross-origin: %v", route, err)
			}
			continue
		}
		if res := h.do(method, path, "{}", nil); res.StatusCode != 401 {
			t.Errorf("%s without a session: %d, want 401", route, res.StatusCode)
		}
		if method == "GET" {
			continue
		}
		if res := h.do(method, path, "{}", map[string]string{"Cookie": h.cookie}); res.StatusCode != 403 {
			t.Errorf("%s without a CSRF token: %d, want 403", route, res.StatusCode)
		}
		if res := h.do(method, path, "{}", map[string]string{"Cookie": h.cookie, auth.CSRFHeader: h.csrf + "x"}); res.StatusCode != 403 {
			t.Errorf("%s with a bad CSRF token: %d, want 403", route, res.StatusCode)
		}
		if res := h.do(method, path, "{}", map[string]string{"Cookie": h.cookie, auth.CSRFHeader: h.csrf, "Origin": "http://evil.example"}); res.StatusCode != 403 {
			t.Errorf("%s from another origin: %d, want 403", route, res.StatusCode)
		}
	}
	// And the same requests do get through with everything right.
	if code := h.admin("GET", "/api/runs", "", nil); code != 200 {
		t.Fatalf("GET /api/runs with a session: %d", code)
	}
	if code := h.admin("POST", "/api/logout", "", nil); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code := h.admin("GET", "/api/runs", "", nil); code != 401 {
		t.Fatalf("after logout: %d", code)
	}
}

type runView struct {
	Run    runs.Run         `json:"run"`
	Events []runspec.Record `json:"events"`
	Models []runs.Model     `json:"models"`
}

func TestRunLifeCycleThenActivate(t *testing.T) {
	oldReply := strings.Repeat("old model. ", 30)
	h := newHarness(t, setup{reply: oldReply, delay: 2 * time.Millisecond})
	h.login()
	base, data := t.TempDir(), t.TempDir()

	var bad struct {
		Error struct {
			Fields []runs.FieldError `json:"fields"`
		} `json:"error"`
	}
	if code := h.admin("POST", "/api/runs", `{"base_model":"/nope","data":"`+data+`","lr":-1}`, &bad); code != 400 || len(bad.Error.Fields) != 2 {
		t.Fatalf("invalid run: %d %+v", code, bad)
	}
	if code := h.admin("POST", "/api/runs", `{"base_model":"`+base+`","data":"`+data+`","learning_rate":1}`, nil); code != 400 {
		t.Fatalf("unknown field accepted: %d", code)
	}

	var created runs.Run
	if code := h.admin("POST", "/api/runs", fmt.Sprintf(`{"base_model":%q,"data":%q,"max_steps":40,"lora_r":8,"target_modules":["q_proj","v_proj"]}`, base, data), &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	id := created.ID

	// Watch live events on the run's websocket until training is under way.
	ws, _, err := h.dial(fmt.Sprintf("/ws/runs/%d", id), h.ts.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var lastSeq int64
	steps := 0
	for steps < 5 {
		var ev runspec.Record
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := ws.ReadJSON(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.Seq != lastSeq+1 {
			t.Fatalf("event seq %d after %d", ev.Seq, lastSeq)
		}
		lastSeq = ev.Seq
		if ev.Type == runspec.EventStep {
			steps++
		}
	}
	if code := h.admin("POST", fmt.Sprintf("/api/runs/%d/cancel", id), "", nil); code != 202 {
		t.Fatalf("cancel: %d", code)
	}
	get := func() runView {
		var v runView
		h.admin("GET", fmt.Sprintf("/api/runs/%d", id), "", &v)
		return v
	}
	testkit.Eventually(t, 10*time.Second, "cancelled", func() bool { return get().Run.Status == runs.StatusCancelled })
	if code := h.admin("POST", fmt.Sprintf("/api/runs/%d/cancel", id), "", nil); code != 409 {
		t.Fatalf("cancel twice: %d, want 409", code)
	}
	if code := h.admin("POST", fmt.Sprintf("/api/runs/%d/resume", id), "", nil); code != 202 {
		t.Fatalf("resume: %d", code)
	}
	testkit.Eventually(t, 10*time.Second, "succeeded", func() bool { return get().Run.Status == runs.StatusSucceeded })
	v := get()
	if v.Run.Metrics.Step != 40 || len(v.Run.Checkpoints) == 0 || len(v.Models) != 3 {
		t.Fatalf("finished run: metrics %+v, checkpoints %v, models %+v", v.Run.Metrics, v.Run.Checkpoints, v.Models)
	}
	var merged runs.Model
	for _, m := range v.Models {
		if m.Kind == "merged" {
			merged = m
		}
	}

	// A chat in flight on the old model while the new one is activated.
	c := h.mustDial("/ws/chat")
	ask(t, c, "q")
	first := read(t, c)
	var act struct {
		Serving string `json:"serving"`
	}
	if code := h.admin("POST", fmt.Sprintf("/api/models/%d/activate", merged.ID), "", &act); code != 200 || act.Serving != merged.Name() {
		t.Fatalf("activate: %d %+v", code, act)
	}
	rest, _, done := readAnswer(t, c)
	if first.Text+rest != oldReply || done.Model != "fake-base" {
		t.Fatalf("in-flight stream across the swap: %q from %s", first.Text+rest, done.Model)
	}
	ask(t, c, "q")
	text, _, done := readAnswer(t, c)
	if text != "served from "+merged.Path || done.Model != merged.Name() {
		t.Fatalf("after activation: %q from %s", text, done.Model)
	}
	var list struct {
		Models  []runs.Model `json:"models"`
		Serving string       `json:"serving"`
	}
	h.admin("GET", "/api/models", "", &list)
	active := 0
	for _, m := range list.Models {
		if m.Active {
			active++
			if m.ID != merged.ID {
				t.Fatalf("active model %d, want %d", m.ID, merged.ID)
			}
		}
	}
	if active != 1 || list.Serving != merged.Name() {
		t.Fatalf("models after activation: %+v", list)
	}
	if code := h.admin("POST", "/api/models/999/activate", "", nil); code != 404 {
		t.Fatalf("unknown model: %d", code)
	}
	// Training metrics reached /metrics.
	res := h.do("GET", "/metrics", "", nil)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "medqa_training_step 40") {
		t.Errorf("/metrics lacks medqa_training_step 40")
	}
}
