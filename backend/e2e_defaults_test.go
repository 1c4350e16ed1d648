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
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"medqa/assets"
	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/runs"
	"medqa/backend/server"
	"medqa/files/testkit"
	"medqa/trainer/eval"
	"medqa/trainer/quant"
	"medqa/wasm/chat"
	"medqa/web"
)

// formBody is what the start form's JavaScript (assets/web/js/runs.js, config()) sends for
// the form's own defaults, with max steps set: numbers as numbers, lists split on commas,
// and epochs left out once max steps is above zero.
func formBody(t *testing.T, maxSteps int) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, f := range web.DefaultRunForm() {
		v := strings.TrimSpace(f.Default)
		if f.Name == "max_steps" {
			v = strconv.Itoa(maxSteps)
		}
		if v == "" {
			continue
		}
		switch f.Kind {
		case "int":
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			out[f.Name] = n
		case "float":
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			out[f.Name] = x
		case "list":
			out[f.Name] = strings.Split(v, ",")
		default:
			out[f.Name] = v
		}
	}
	delete(out, "epochs")
	return out
}

// TestDefaultRunOnFreshInstall is the admin journey on a fresh install: only what `make run`
// provides (the shipped int8 model in assets/model, data/splits made from the shipped MedQuAD
// file), a run started with exactly the start form's defaults but for a small max_steps, and
// the run goes train (LoRA over the frozen int8 base: QLoRA) → evaluate → merge → quantize,
// then its int8 model is activated and serves. With the defaults it validates on the whole
// validation split and evaluates the first test_rows (200) rows of the test split.
func TestDefaultRunOnFreshInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("trains, evaluates and quantizes with the form's defaults on the shipped model (minutes)")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	bin := filepath.Join(work, "trainer")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "medqa/trainer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./trainer: %v\n%s", err, out)
	}
	// The install: the shipped model where the form's default points, and the splits that
	// `make run` makes when data/splits is missing (the Makefile's command).
	root := filepath.Join(work, "install")
	if err := os.CopyFS(filepath.Join(root, assets.DefaultModelDir), assets.DefaultModel()); err != nil {
		t.Fatal(err)
	}
	if !quant.IsQuantized(filepath.Join(root, assets.DefaultModelDir)) {
		t.Fatal("the shipped model is not quantized: this test is about training over a quantized base")
	}
	mk := exec.Command(bin, "data", "--input", filepath.Join(repo, "files", "medquad_qa.csv.gz"), "--out", filepath.Join(root, "data", "splits"))
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("trainer data: %v\n%s", err, out)
	}
	t.Chdir(root) // the form's paths are relative to the server's directory, as under make run

	b, err := loadQwen2(context.Background(), "default", assets.DefaultModelDir, "")
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{}, &b)
	au, err := auth.New(auth.Config{Dir: work, Password: testPassword, Cost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := runs.Open(runs.Options{Dir: work, Launcher: runs.Local{Command: []string{bin}}, Logger: slog.New(slog.DiscardHandler)})
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
			raw, _ := json.Marshal(body)
			r = bytes.NewReader(raw)
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

	// The page states this plan; the run must be it.
	plan := web.DefaultRunPlan()
	body := formBody(t, 2)
	if body["base_model"] != plan.BaseModel || body["data"] != plan.Data {
		t.Fatalf("the form sends %v and %v, its plan says %s and %s", body["base_model"], body["data"], plan.BaseModel, plan.Data)
	}
	var run runs.Run
	if code := call("POST", "/api/runs", tok, body, &run); code != 201 {
		t.Fatalf("start %v: %d %+v", body, code, run)
	}
	var d runs.Detail
	if !testkit.Poll(45*time.Minute, func() bool {
		time.Sleep(time.Second)
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
	for _, s := range plan.Steps {
		if s.Name != "activate" && seen[s.Name+"/status"]+seen[s.Name+"/done"] == 0 {
			t.Errorf("stage %s of the plan did not run; saw %v", s.Name, seen)
		}
	}
	var rep eval.Report
	if raw, err := os.ReadFile(filepath.Join(d.Run.Dir, "eval", "report.json")); err != nil || json.Unmarshal(raw, &rep) != nil {
		t.Errorf("eval/report.json: %v", err)
	} else if want, _ := strconv.Atoi(mustFormDefault(t, "test_rows")); rep.Settings.Limit != want || len(rep.Examples) != want {
		t.Errorf("the evaluate stage scored %d rows (limit %d), the form's default is %d", len(rep.Examples), rep.Settings.Limit, want)
	}
	if d.Run.Metrics.Step != 2 || d.Run.Metrics.Loss == nil || d.Run.Metrics.ValLoss == nil {
		t.Errorf("metrics %+v", d.Run.Metrics)
	}
	kinds := map[string]runs.Model{}
	for _, m := range d.Models {
		kinds[m.Kind] = m
	}
	q8 := kinds["int8"]
	if q8.Path == "" || kinds["merged"].Path == "" || kinds["adapter"].Adapter == "" {
		t.Fatalf("models %+v", d.Models)
	}
	// The adapter names the quantized base it was trained over.
	raw, _ := os.ReadFile(filepath.Join(kinds["adapter"].Adapter, "adapter_config.json"))
	if !strings.Contains(string(raw), `"base_model_name_or_path": "`+plan.BaseModel+`"`) {
		t.Errorf("adapter_config.json does not name %s:\n%s", plan.BaseModel, raw)
	}

	// Activation: the server answers with the new int8 model, as an engine of its own over that
	// directory does (the shipped model's trimmed vocabulary needs the directory's tokenizer,
	// which loadQwen2 takes; reference() assumes the full Qwen2.5 one).
	var act struct{ Serving string }
	if code := call("POST", fmt.Sprintf("/api/models/%d/activate", q8.ID), tok, nil, &act); code != 200 || act.Serving != q8.Name() {
		t.Fatalf("activate: %d %+v", code, act)
	}
	msgs := []chat.Message{{Role: "user", Content: "What is glaucoma?"}}
	own, err := loadQwen2(context.Background(), "reference", q8.Path, "")
	if err != nil {
		t.Fatal(err)
	}
	want, n := engineReply(t, own, msgs, 16)
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
}

// mustFormDefault is the start form's default for the field called name.
func mustFormDefault(t *testing.T, name string) string {
	t.Helper()
	for _, f := range web.DefaultRunForm() {
		if f.Name == name {
			return f.Default
		}
	}
	t.Fatalf("the start form has no %s field", name)
	return ""
}
