//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/runs"
	"medqa/backend/server"
	"medqa/files/testkit"
	"medqa/files/testkit/browser"
	"medqa/trainer/qwen2"
	"medqa/wasm/chat"
	"medqa/web"
)

// A training run from the admin API with the real trainer CLI (train → evaluate → merge →
// quantize) on the random-weight Qwen2 and a dozen MedQuAD-shaped rows, then the int8 model
// it produced is activated and answers exactly as qwen2.Generate does on that directory.
func TestRealTrainingPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the trainer and runs it (~30 s)")
	}
	base := tinyModelDir(t)
	work := t.TempDir()
	bin := filepath.Join(work, "trainer")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "medqa/trainer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./trainer: %v\n%s", err, out)
	}
	splits := filepath.Join(work, "splits")
	writeSplits(t, splits)

	b, err := loadQwen2(context.Background(), "tiny", base, "")
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{}, &b)
	au, err := auth.New(auth.Config{Dir: work, Password: testPassword, Cost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := runs.Open(runs.Options{Dir: work, Roots: []string{work, base}, Launcher: runs.Local{Command: []string{bin}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Engine: eng, Auth: au, Runs: rm, LoadModel: loadQwen2, Logger: slog.New(slog.DiscardHandler),
		Pages: pages(au, rm, eng, nil, chatSettings(b.Name, b.Sampling, eng.Config()))})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx, nil)
		ts.Close()
	})
	call := func(method, path, token string, body any, into any) int {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, ts.URL+path, r)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if into != nil {
			if err := json.Unmarshal(raw, into); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, raw)
			}
		}
		return res.StatusCode
	}
	var login struct{ Token string }
	if code := call("POST", "/api/login", "", map[string]any{"password": testPassword, "bearer": true}, &login); code != 200 {
		t.Fatalf("login: %d", code)
	}
	tok := login.Token
	var run runs.Run
	if code := call("POST", "/api/runs", tok, map[string]any{"base_model": base, "data": splits, "max_steps": 4,
		"batch_size": 2, "max_length": 96, "eval_every": 2, "save_every": 0, "lora_r": 4}, &run); code != 201 {
		t.Fatalf("start: %d %+v", code, run)
	}

	var d runs.Detail
	if !testkit.Poll(3*time.Minute, func() bool {
		call("GET", fmt.Sprintf("/api/runs/%d", run.ID), tok, nil, &d)
		return d.Run.Status == runs.StatusSucceeded || d.Run.Status == runs.StatusFailed
	}) {
		t.Fatalf("run still %s at stage %s", d.Run.Status, d.Run.Stage)
	}
	if d.Run.Status != runs.StatusSucceeded {
		log, _ := os.ReadFile(filepath.Join(d.Run.Dir, "trainer.log"))
		t.Fatalf("run %s: %s\ntrainer.log:\n%s", d.Run.Status, d.Run.Error, log)
	}
	seen := map[string]int{}
	for _, e := range d.Events {
		seen[e.Stage+"/"+e.Type]++
	}
	for _, want := range []string{"train/step", "train/eval", "train/checkpoint", "train/done", "evaluate/status", "merge/status", "quantize/status"} {
		if seen[want] == 0 {
			t.Errorf("no %s event; saw %v", want, seen)
		}
	}
	if d.Run.Metrics.Step != 4 || d.Run.Metrics.Loss == nil || d.Run.Metrics.ValLoss == nil {
		t.Errorf("metrics %+v", d.Run.Metrics)
	}
	kinds := map[string]runs.Model{}
	for _, m := range d.Models {
		kinds[m.Kind] = m
	}
	if len(kinds) != 3 || kinds["adapter"].Adapter == "" || kinds["merged"].Path == "" || kinds["int8"].Path == "" {
		t.Fatalf("models %+v", d.Models)
	}

	// The report reads as the pages read it.
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/runs/%d/report", ts.URL, run.ID), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	rep, err := web.DecodeReport("1", raw)
	if err != nil || res.StatusCode != 200 || rep.Split != "test" || len(rep.Worst) != 2 {
		t.Fatalf("report %d %v %+v", res.StatusCode, err, rep)
	}

	// Activate the int8 model: the server answers with it, as qwen2.Generate does.
	q8 := kinds["int8"]
	var act struct{ Serving string }
	if code := call("POST", fmt.Sprintf("/api/models/%d/activate", q8.ID), tok, nil, &act); code != 200 || act.Serving != q8.Name() {
		t.Fatalf("activate: %d %+v", code, act)
	}
	if res, err := http.Get(ts.URL + "/"); err != nil {
		t.Fatal(err)
	} else {
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(page), q8.Name()) {
			t.Errorf("the chat page does not name the model now serving, %s", q8.Name())
		}
	}
	msgs := []chat.Message{{Role: "user", Content: "What is glaucoma?"}}
	want, n := reference(t, q8.Path, msgs, qwen2.GenerateOptions{MaxNewTokens: 16})
	var reply struct {
		Model   string
		Choices []struct{ Message struct{ Content string } }
		Usage   struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	call("POST", "/v1/chat/completions", "", map[string]any{"messages": msgs, "max_tokens": 16, "temperature": 0}, &reply)
	if reply.Model != q8.Name() || len(reply.Choices) != 1 || reply.Choices[0].Message.Content != want || reply.Usage.CompletionTokens != n {
		t.Errorf("after activation: %+v, want %q (%d tokens) from %s", reply, want, n, q8.Name())
	}

	// Evaluate again: the evaluate stage alone, and the run is succeeded again.
	last := d.Events[len(d.Events)-1].Seq
	if code := call("POST", fmt.Sprintf("/api/runs/%d/evaluate", run.ID), tok, nil, nil); code != http.StatusAccepted {
		t.Fatalf("evaluate: %d", code)
	}
	done := testkit.Poll(2*time.Minute, func() bool {
		d = runs.Detail{} // fields left out of the answer (only, when cleared) must not linger
		call("GET", fmt.Sprintf("/api/runs/%d?after=%d", run.ID, last), tok, nil, &d)
		return d.Run.Status == runs.StatusFailed || d.Run.Status == runs.StatusSucceeded && d.Run.Only == ""
	})
	if !done || d.Run.Status == runs.StatusFailed {
		t.Fatalf("evaluating again: %s %s", d.Run.Status, d.Run.Error)
	}
	for _, e := range d.Events {
		if e.Stage != "evaluate" {
			t.Errorf("a %s event of stage %s while evaluating again", e.Type, e.Stage)
		}
	}

	// The run page of a whole real run, for the screenshots of docs/web.md.
	if os.Getenv("MEDQA_ARTIFACTS") != "" {
		tb := browser.Start(t)
		tb.Do(chromedp.Navigate(fmt.Sprintf("%s/admin/runs/%d", ts.URL, run.ID)),
			chromedp.WaitReady(chromedp.CSS(`html[data-ready="login"]`)),
			chromedp.SendKeys(chromedp.ID("password"), testPassword+"\r"),
			chromedp.WaitReady(chromedp.CSS(`html[data-ready="run"]`)))
		tb.Shot("run-succeeded")
	}
}

// writeSplits writes train/validation/test rows shaped as `trainer data` writes them.
func writeSplits(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	qa := [][3]string{
		{"What is glaucoma?", "Glaucoma is a group of diseases that damage the optic nerve.", "information"},
		{"What are the symptoms of gout?", "Gout causes sudden, severe pain, swelling and redness in a joint.", "symptoms"},
		{"How to prevent anemia?", "Eat foods rich in iron, folate and vitamin B12.", "prevention"},
		{"What causes asthma?", "Asthma is caused by inflammation of the airways.", "causes"},
		{"How is diabetes treated?", "Diabetes is treated with diet, exercise, and medicines such as insulin.", "treatment"},
		{"What is hypertension?", "Hypertension is high blood pressure.", "information"},
	}
	const system = "You are a medical question-answering assistant. Answer accurately and clearly."
	write := func(name string, rows [][3]string) {
		var b strings.Builder
		for i, r := range rows {
			row := map[string]any{"id": fmt.Sprintf("%s-%d", name, i), "question": r[0], "answer": r[1], "qtype": r[2],
				"focus": "", "source": "test", "messages": []chat.Message{{Role: "system", Content: system},
					{Role: "user", Content: r[0]}, {Role: "assistant", Content: r[1]}}}
			j, _ := json.Marshal(row)
			b.Write(append(j, '\n'))
		}
		if err := os.WriteFile(filepath.Join(dir, name+".jsonl"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("train", qa)
	write("validation", qa[:2])
	write("test", qa[4:])
}
