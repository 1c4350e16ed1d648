package main

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"medqa/assets"
	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/engine/fakemodel"
	"medqa/backend/runs"
	"medqa/backend/runs/faketrainer"
	"medqa/backend/server"
)

// The pages in headless Chromium against the real server (routes, auth, CSRF, run store,
// trainer processes, engine), with the fake model and the fake trainer standing in for
// libtorch: the contract between web/ and backend/ is what is under test here.

func TestMain(m *testing.M) {
	if os.Getenv(faketrainer.EnvVar) != "" {
		os.Exit(faketrainer.Main())
	}
	code := m.Run()
	if tinyOnce.dir != "" {
		os.RemoveAll(tinyOnce.dir)
	}
	os.Exit(code)
}

const (
	e2ePassword = "correct horse battery"
	e2eReply    = "Glaucoma is a group of eye conditions that damage the optic nerve, often because of high " +
		"pressure inside the eye. It is a leading cause of blindness in people over sixty, and many forms " +
		"have no early warning signs, so regular eye examinations matter."
)

type e2e struct {
	url  string
	runs *runs.Manager
	dir  string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	dir := t.TempDir()
	_, b := fakemodel.New("medqa-fake", e2eReply, 25*time.Millisecond)
	cfg := engine.Config{MaxBatch: 4, MaxQueue: 8, MaxPromptTokens: 2048, MaxNewTokens: 1024, DefaultNewTokens: 512}
	eng := engine.New(cfg, &b)
	au, err := auth.New(auth.Config{Dir: dir, Password: e2ePassword, Cost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := runs.Open(runs.Options{Dir: dir, KillAfter: 10 * time.Second, Logger: slog.New(slog.DiscardHandler),
		Launcher: runs.Local{Command: []string{os.Args[0]}, Env: []string{faketrainer.EnvVar + "=1", faketrainer.StepEnv + "=150ms"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Engine: eng, Auth: au, Runs: rm, Logger: slog.New(slog.DiscardHandler),
		Pages: pages(au, rm, eng, nil, chatSettings(b.Name, b.Sampling, cfg))})
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = srv.HTTPServer("")
	ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx, ts.Config)
		ts.Close()
	})
	for _, d := range []string{"base", "splits"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &e2e{url: ts.URL, runs: rm, dir: dir}
}

// browser starts headless Chromium; tests skip without it, except in CI.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("MEDQA_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found at %s (CI needs it: make deps-test)", path)
		}
		t.Skipf("chromium not found at %s", path)
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 900))
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			t.Errorf("browser exception: %s", e.ExceptionDetails.Text)
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type == cdpruntime.ConsoleAPICalledTypeError || e.Type == cdpruntime.ConsoleAPICalledTypeWarning {
				msg := string(e.Type) + ":"
				for _, a := range e.Args {
					msg += " " + string(a.Value) + a.Description
				}
				t.Errorf("browser console %s", msg)
			}
		}
	}))
	t.Cleanup(func() { cancelC(); cancelA() })
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`true`)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatal(err)
	}
}

func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(30 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// shot saves a full-page PNG to $MEDQA_ARTIFACTS (skipped when unset).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("MEDQA_ARTIFACTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p+".tmp", png, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
}

const lastAnswer = `(document.querySelector("#log .msg.assistant:last-child .text")||{}).textContent||""`

func TestE2EChat(t *testing.T) {
	s := newE2E(t)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`html[data-ready="chat"]`)),
		chromedp.SendKeys(chromedp.ID("q"), "What is glaucoma?"))
	// The browser module comes from the server's /wasm/, embedded when `make wasm` has built it.
	_, err := fs.Stat(assets.Wasm(), "medqa.wasm")
	haveWasm := err == nil
	if haveWasm {
		waitFor(t, 20*time.Second, "the live token count", func() bool {
			return js[string](t, ctx, `document.getElementById("count").dataset.tokens || ""`) == "6"
		})
	} else if os.Getenv("CI") == "true" {
		t.Fatal("assets/wasm/medqa.wasm is not built: run make wasm (make test does)")
	} else {
		t.Log("assets/wasm/medqa.wasm is not built (make wasm): the token count is not checked")
	}
	do(t, ctx, chromedp.SendKeys(chromedp.ID("q"), "\r"))
	var seen []int
	waitFor(t, 30*time.Second, "the whole answer", func() bool {
		a := js[string](t, ctx, lastAnswer)
		if n := len(a); n > 0 && (len(seen) == 0 || n != seen[len(seen)-1]) {
			seen = append(seen, n)
		}
		return a == e2eReply
	})
	if len(seen) < 5 {
		t.Errorf("the answer arrived in %d steps %v, want it to grow token by token", len(seen), seen)
	}
	waitFor(t, 10*time.Second, "the timing line", func() bool {
		return strings.Contains(js[string](t, ctx, `document.getElementById("log").textContent`), "tokens/s")
	})
	if haveWasm { // the prompt preview now holds the answer too
		waitFor(t, 10*time.Second, "the prompt preview", func() bool {
			return strings.Contains(js[string](t, ctx, `document.getElementById("prompt").textContent`), "regular eye examinations matter.<|im_end|>")
		})
	}
	shot(t, ctx, "chat-fake-model")

	// Stop mid-answer: the text stops growing, short of the whole reply.
	do(t, ctx, chromedp.SendKeys(chromedp.ID("q"), "And its treatment?\r"))
	waitFor(t, 10*time.Second, "the second answer to start", func() bool {
		return js[bool](t, ctx, `document.querySelectorAll("#log .msg.assistant").length === 2`) && len(js[string](t, ctx, lastAnswer)) > 20
	})
	do(t, ctx, chromedp.Click(chromedp.ID("stop")))
	waitFor(t, 10*time.Second, "the send button back", func() bool {
		return js[bool](t, ctx, `!document.getElementById("send").disabled`)
	})
	stopped := js[string](t, ctx, lastAnswer)
	time.Sleep(300 * time.Millisecond)
	if after := js[string](t, ctx, lastAnswer); after != stopped || len(stopped) >= len(e2eReply) || !strings.HasPrefix(e2eReply, stopped) {
		t.Errorf("after stop: %q then %q", stopped, after)
	}
}

func TestE2EAdminRun(t *testing.T) {
	s := newE2E(t)
	ctx := browser(t)

	// A wrong password is refused, and no session is set.
	do(t, ctx, chromedp.Navigate(s.url+"/admin/runs"), chromedp.WaitReady(chromedp.CSS(`html[data-ready="login"]`)),
		chromedp.SendKeys(chromedp.ID("password"), "wrong guess\r"),
		chromedp.WaitVisible(chromedp.CSS("#login-error:not(:empty)")))
	if got := js[string](t, ctx, `document.getElementById("login-error").textContent`); got != "Wrong password." {
		t.Errorf("wrong password: %q", got)
	}
	shot(t, ctx, "login-refused")
	js[string](t, ctx, `document.getElementById("password").value = ""`)
	do(t, ctx, chromedp.SendKeys(chromedp.ID("password"), e2ePassword+"\r"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="runs"]`)))

	// Start a tiny run (the fake trainer: 150 ms per step).
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`input[name="base_model"]`), filepath.Join(s.dir, "base")),
		chromedp.SetValue(chromedp.CSS(`input[name="data"]`), filepath.Join(s.dir, "splits")),
		chromedp.SetValue(chromedp.CSS(`input[name="max_steps"]`), "200"),
		chromedp.SetValue(chromedp.CSS(`input[name="eval_every"]`), "5"),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.ID("new-run")))
	list, err := s.runs.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("runs after start: %v %v", list, err)
	}
	if c := list[0].Config; c.MaxSteps != 200 || c.Epochs != 0 || len(c.TargetModules) != 1 || c.TargetModules[0] != "all-linear" || c.LoRARank != 16 {
		t.Errorf("the server stored %+v", c)
	}
	shot(t, ctx, "runs-started")

	// Live loss points arrive over /ws/runs/{id}.
	do(t, ctx, chromedp.Click(chromedp.ID("new-run")), chromedp.WaitReady(chromedp.CSS(`html[data-ready="run"]`)))
	points := func() int {
		return js[int](t, ctx, `Number(document.querySelector("#chart polyline.s-train")?.dataset.n || 0)`)
	}
	first := points()
	waitFor(t, 30*time.Second, "live loss points", func() bool { n := points(); return n >= first+4 && n >= 8 })
	if st := js[string](t, ctx, `document.querySelector("#run-status .badge").dataset.status`); st != "running" {
		t.Errorf("status badge %q while training", st)
	}
	if step := js[string](t, ctx, `document.getElementById("run-step").textContent`); !strings.HasSuffix(step, "/ 200") {
		t.Errorf("step figure %q", step)
	}
	shot(t, ctx, "run-live")

	// Cancel: the trainer checkpoints and exits; the page hears the new status.
	do(t, ctx, chromedp.Click(chromedp.CSS(`button[data-action="cancel"]`)))
	deadline := time.Now().Add(30 * time.Second)
	for js[string](t, ctx, `document.querySelector("#run-status .badge").dataset.status`) != "cancelled" {
		if time.Now().After(deadline) {
			r, _ := s.runs.Get(list[0].ID)
			t.Fatalf("the page did not show the cancel; server status %q; page log:\n%s\n%s", r.Status,
				js[string](t, ctx, `document.getElementById("run-status").innerHTML + document.getElementById("run").dataset.status`), js[string](t, ctx, `document.getElementById("action-error").textContent`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r, err := s.runs.Get(list[0].ID); err != nil || r.Status != runs.StatusCancelled {
		t.Errorf("server: %+v %v", r, err)
	}
	if !js[bool](t, ctx, `!document.querySelector('button[data-action="resume"]').disabled && document.querySelector('button[data-action="cancel"]').disabled`) {
		t.Error("after cancel, resume should be enabled and cancel disabled")
	}
	shot(t, ctx, "run-cancelled")

	// Resume: training continues from the checkpoint, and the page follows it again.
	stepNow := func() int {
		return js[int](t, ctx, `parseInt(document.getElementById("run-step").textContent) || 0`)
	}
	cancelledAt := stepNow()
	do(t, ctx, chromedp.Click(chromedp.CSS(`button[data-action="resume"]`)))
	waitFor(t, 30*time.Second, "steps after the resume", func() bool { return stepNow() >= cancelledAt+3 })
	if st := js[string](t, ctx, `document.querySelector("#run-status .badge").dataset.status`); st != "running" {
		t.Errorf("status badge %q after resume", st)
	}
	evs, _ := s.runs.Events(list[0].ID, 0)
	var steps []int64
	for _, e := range evs {
		if e.Type == "step" {
			steps = append(steps, *e.Step)
		}
	}
	for i := 1; i < len(steps); i++ {
		if steps[i] != steps[i-1]+1 {
			t.Errorf("steps after resume do not continue from the checkpoint: %v", steps)
			break
		}
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`button[data-action="cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-status .badge[data-status="cancelled"]`)))
	do(t, ctx, chromedp.Navigate(s.url+"/admin/runs"), chromedp.WaitVisible(chromedp.ID("runs")))
	shot(t, ctx, "runs")
}
