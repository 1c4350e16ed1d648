package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"medqa/trainer/runspec"
)

// fakeBackend stands in for the backend in these tests: the same routes and frames the real
// server answers (POST /api/login, /api/logout, /api/runs…, /ws/chat, /ws/runs/{id}), with a
// canned answer streamed slowly and a fake trainer emitting loss events.
type fakeBackend struct {
	password, csrf string
	tokenDelay     time.Duration
	stepDelay      time.Duration

	mu       sync.Mutex
	runs     map[string]*fakeRun
	order    []string
	stops    int      // stop frames received on /ws/chat
	asks     []string // questions received
	rags     []any    // each ask's "rag" field (nil when absent)
	sessions map[string]bool
}

type fakeRun struct {
	detail RunDetail
	subs   []chan runspec.Record
	cancel context.CancelFunc
}

const fakeAnswer = "Glaucoma is a group of eye conditions that damage the optic nerve, the health of which " +
	"is vital for good vision. This damage is often caused by an abnormally high pressure in your eye. " +
	"It is one of the leading causes of blindness for people over the age of 60. It can occur at any age " +
	"but is more common in older adults. Many forms of glaucoma have no warning signs."

func newFakeBackend() *fakeBackend {
	return &fakeBackend{password: "correct horse", csrf: "csrf-4f1c2a", tokenDelay: 40 * time.Millisecond,
		stepDelay: 120 * time.Millisecond, runs: map[string]*fakeRun{}, sessions: map[string]bool{}}
}

// Session implements Auth.
func (f *fakeBackend) Session(r *http.Request) (string, bool) {
	c, err := r.Cookie("medqa_session")
	if err != nil {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.csrf, f.sessions[c.Value]
}

// ListRuns implements RunReader.
func (f *fakeBackend) ListRuns(context.Context) ([]Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Run
	for _, id := range slices.Backward(f.order) {
		out = append(out, f.runs[id].detail.Run)
	}
	return out, nil
}

func (f *fakeBackend) GetRun(_ context.Context, id string) (*RunDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.runs[id]
	if !ok {
		return nil, fmt.Errorf("run %q: %w", id, ErrNotFound)
	}
	d := r.detail
	d.Events = slices.Clone(d.Events)
	return &d, nil
}

func (f *fakeBackend) Report(_ context.Context, id string) (*EvalReport, error) {
	if _, err := f.GetRun(context.Background(), id); err != nil {
		return nil, err
	}
	return sampleReport(id), nil
}

func sampleReport(id string) *EvalReport {
	return &EvalReport{
		RunID: id, Split: "test", Columns: []string{"rouge1", "rouge2", "rougeL", "bleu", "f1"},
		Overall: Scores{"rouge1": 0.312, "rouge2": 0.141, "rougeL": 0.238, "bleu": 0.061, "f1": 0.287},
		QTypes: []QTypeRow{
			{QType: "information", N: 412, Scores: Scores{"rouge1": 0.35, "rouge2": 0.17, "rougeL": 0.27, "bleu": 0.08, "f1": 0.31}},
			{QType: "symptoms", N: 236, Scores: Scores{"rouge1": 0.29, "rouge2": 0.12, "rougeL": 0.22, "bleu": 0.05, "f1": 0.27}},
			{QType: "treatment", N: 198, Scores: Scores{"rouge1": 0.27, "rouge2": 0.11, "rougeL": 0.21, "bleu": 0.04, "f1": 0.25}},
		},
		Worst: []Example{{QType: "genetic changes", Question: "What are the genetic changes related to Alström syndrome?",
			Reference: "Mutations in the ALMS1 gene cause Alström syndrome.", Prediction: "Alström syndrome is a rare disorder.", Score: 0.05}},
	}
}

func (f *fakeBackend) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/login", f.login)
	mux.HandleFunc("POST /api/logout", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "medqa_session", Value: "", Path: "/", MaxAge: -1})
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/runs", f.guard(f.start))
	mux.HandleFunc("POST /api/runs/{id}/cancel", f.guard(f.cancelRun))
	mux.HandleFunc("GET /ws/chat", f.chat)
	mux.HandleFunc("GET /ws/runs/{id}", f.follow)
}

func (f *fakeBackend) login(w http.ResponseWriter, r *http.Request) {
	var body struct{ Password string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Password != f.password {
		http.Error(w, `{"error":"wrong password"}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	f.sessions["s1"] = true
	f.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "medqa_session", Value: "s1", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeBackend) guard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.Session(r); !ok {
			http.Error(w, `{"error":"session required"}`, http.StatusUnauthorized)
			return
		}
		if r.Header.Get("X-CSRF-Token") != f.csrf {
			http.Error(w, `{"error":"bad CSRF token"}`, http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

func (f *fakeBackend) start(w http.ResponseWriter, r *http.Request) {
	raw := json.RawMessage{}
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		http.Error(w, `{"error":"body: not JSON"}`, http.StatusBadRequest)
		return
	}
	var cfg struct {
		MaxSteps int `json:"max_steps"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg.MaxSteps <= 0 {
		http.Error(w, `{"error":"max_steps: must be > 0 in this fake"}`, http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.mu.Lock()
	id := fmt.Sprintf("r%d", len(f.order)+1)
	f.runs[id] = &fakeRun{cancel: cancel, detail: RunDetail{
		Run:    Run{ID: id, Status: "running", CreatedAt: time.Now(), MaxSteps: cfg.MaxSteps, Model: "tiny-qwen2"},
		Config: raw,
	}}
	f.order = append(f.order, id)
	f.mu.Unlock()
	go f.train(ctx, id, cfg.MaxSteps)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{"id": id, "status": "running"})
}

// train emits one step event per stepDelay with a decaying loss, and an eval every 5 steps.
func (f *fakeBackend) train(ctx context.Context, id string, steps int) {
	f.emit(id, runspec.Record{Type: "start"})
	for s := 1; s <= steps; s++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(f.stepDelay):
		}
		loss := 1.9 + 1.6*math.Exp(-float64(s)/12) + 0.04*float64(s%3)
		f.emit(id, runspec.Record{Type: "step", Step: new(int64(s)), Loss: new(loss), LR: new(2e-4), TokensPerS: new(950.0),
			EtaS: new(float64(steps-s) * f.stepDelay.Seconds())})
		if s%5 == 0 {
			f.emit(id, runspec.Record{Type: "eval", Step: new(int64(s)), ValLoss: new(loss + 0.15), ValPPL: new(3.4)})
		}
	}
	f.emit(id, runspec.Record{Type: "done"})
	f.emitStatus(id, "succeeded")
}

func (f *fakeBackend) emit(id string, e runspec.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.runs[id]
	d := &r.detail
	d.Events = append(d.Events, e)
	switch e.Type {
	case "step":
		d.Step, d.Loss, d.EtaS = int(*e.Step), *e.Loss, *e.EtaS
		d.Logs = append(d.Logs, fmt.Sprintf("step %d loss %.4f", *e.Step, *e.Loss))
	case "done":
		d.Metrics = map[string]float64{"val_loss": 1.23, "rougeL": 0.21}
	case "status":
		d.Status = e.Message
	}
	for _, c := range r.subs {
		select {
		case c <- e:
		default: // a slow page misses a point; it re-reads the chart anyway
		}
	}
}

func (f *fakeBackend) cancelRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	run, ok := f.runs[id]
	f.mu.Unlock()
	if !ok {
		http.Error(w, `{"error":"no such run"}`, http.StatusNotFound)
		return
	}
	run.cancel()
	f.emitStatus(id, "cancelled")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"id": id, "status": "cancelled"})
}

func (f *fakeBackend) emitStatus(id, status string) {
	f.mu.Lock()
	r := f.runs[id]
	r.detail.Status = status
	subs := slices.Clone(r.subs)
	f.mu.Unlock()
	for _, c := range subs {
		select {
		case c <- runspec.Record{Type: "status", Message: status}:
		default:
		}
	}
}

var upgrader = websocket.Upgrader{}

func (f *fakeBackend) follow(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.Session(r); !ok {
		http.Error(w, "session required", http.StatusUnauthorized)
		return
	}
	id := r.PathValue("id")
	c := make(chan runspec.Record, 256)
	f.mu.Lock()
	run, ok := f.runs[id]
	if ok {
		run.subs = append(run.subs, c)
	}
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	go func() { // notice the page going away
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for e := range c {
		msg := any(e)
		if e.Type == "status" {
			msg = map[string]string{"type": "status", "status": e.Message}
		}
		if err := conn.WriteJSON(msg); err != nil {
			return
		}
	}
}

// chat streams fakeAnswer word by word; a stop frame ends the answer with done.
func (f *fakeBackend) chat(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	frames := make(chan map[string]any)
	go func() {
		defer close(frames)
		for {
			var m map[string]any
			if err := conn.ReadJSON(&m); err != nil {
				return
			}
			frames <- m
		}
	}()
	for m := range frames {
		if m["type"] != "ask" {
			continue
		}
		msgs, _ := m["messages"].([]any)
		last, _ := msgs[len(msgs)-1].(map[string]any)
		f.mu.Lock()
		f.asks = append(f.asks, fmt.Sprint(last["content"]))
		f.rags = append(f.rags, m["rag"])
		f.mu.Unlock()
		conn.WriteJSON(map[string]any{"type": "sources", "sources": fakeSources})
		words := strings.SplitAfter(fakeAnswer, " ")
		sent := 0
	stream:
		for _, wd := range words {
			select {
			case m, ok := <-frames:
				if !ok {
					return
				}
				if m["type"] == "stop" {
					f.mu.Lock()
					f.stops++
					f.mu.Unlock()
					break stream
				}
			case <-time.After(f.tokenDelay):
				conn.WriteJSON(map[string]string{"type": "token", "text": wd})
				sent++
			}
		}
		conn.WriteJSON(map[string]any{"type": "done",
			"usage":  map[string]int{"prompt_tokens": 31, "completion_tokens": sent, "total_tokens": 31 + sent},
			"timing": map[string]float64{"ttft_ms": 42, "tokens_per_s": 24.5}})
	}
}

func (f *fakeBackend) counts() (stops int, asks []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stops, slices.Clone(f.asks)
}

// handler mounts the pages and the fake APIs as the real backend would; wasm, when not nil,
// replaces the embedded /wasm/ folder.
func (f *fakeBackend) handler(wasm ...fs.FS) http.Handler {
	mux := http.NewServeMux()
	f.routes(mux)
	d := Deps{Auth: f, Runs: f}
	if len(wasm) > 0 {
		d.Wasm = wasm[0]
	}
	mux.Handle("/", New(d))
	return mux
}

// fakeSources is the sources frame fakeBackend sends before every answer; the second title
// is markup that must show as text.
var fakeSources = []map[string]any{
	{"id": "MPlusHealthTopics/0000001/1", "title": "What is (are) Glaucoma?", "focus": "Glaucoma", "qtype": "information",
		"source": "MPlusHealthTopics", "organisation": "MedlinePlus (NLM)", "url": "https://www.nlm.nih.gov/medlineplus/glaucoma.html",
		"text": "Glaucoma is a group of diseases…", "score": 12.5},
	{"id": "GHR/0000002/1", "title": "<img src=x onerror=alert(1)>Glaucoma?", "focus": "Primary congenital glaucoma", "qtype": "information",
		"source": "GHR", "organisation": "Genetics Home Reference (NLM)", "url": "javascript:alert(1)",
		"text": "…", "score": 9.1},
}
