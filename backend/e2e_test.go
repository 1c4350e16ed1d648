//go:build e2e

package main

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"medqa/assets"
	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/engine/fakemodel"
	"medqa/backend/runs"
	"medqa/backend/runs/faketrainer"
	"medqa/backend/server"
	"medqa/files/testkit"
	"medqa/files/testkit/browser"
)

// The pages in headless Chromium against the real server (routes, auth, CSRF, run store,
// trainer processes, engine), with the fake model and the fake trainer standing in for
// libtorch: the contract between web/ and backend/ is what is under test here.

// e2eReply is the fake model's answer, streamed a token every 25 ms.
const e2eReply = "Glaucoma is a group of eye conditions that damage the optic nerve, often because of high " +
	"pressure inside the eye. It is a leading cause of blindness in people over sixty, and many forms " +
	"have no early warning signs, so regular eye examinations matter."

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
	au, err := auth.New(auth.Config{Dir: dir, Password: testPassword, Cost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := runs.Open(runs.Options{Dir: dir, KillAfter: 10 * time.Second, Roots: []string{dir}, Logger: slog.New(slog.DiscardHandler),
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

// requireWasm fails the test unless the browser module is embedded: the chat page's live token
// count and prompt preview need it, and make test builds it (make wasm) before the tests.
func requireWasm(t *testing.T) {
	t.Helper()
	if _, err := fs.Stat(assets.Wasm(), "medqa.wasm"); err != nil {
		t.Fatal("assets/wasm/medqa.wasm is not built: run make wasm (make test does) before go test -tags e2e")
	}
}

const lastAnswer = "#log .msg.assistant:last-child .text"

func TestE2EChat(t *testing.T) {
	s := newE2E(t)
	tb := browser.Start(t)
	tb.Do(chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`html[data-ready="chat"]`)),
		chromedp.SendKeys(chromedp.ID("q"), "What is glaucoma?"))
	// The browser module comes from the server's /wasm/, embedded by `make wasm`.
	requireWasm(t)
	tb.WaitFor(20*time.Second, "the live token count", func() bool {
		return browser.Eval[string](tb, `document.getElementById("count").dataset.tokens || ""`) == "6"
	})
	tb.Do(chromedp.SendKeys(chromedp.ID("q"), "\r"))
	var seen []int
	tb.WaitFor(30*time.Second, "the whole answer", func() bool {
		a := tb.Text(lastAnswer)
		if n := len(a); n > 0 && (len(seen) == 0 || n != seen[len(seen)-1]) {
			seen = append(seen, n)
		}
		return a == e2eReply
	})
	if len(seen) < 5 {
		t.Errorf("the answer arrived in %d steps %v, want it to grow token by token", len(seen), seen)
	}
	tb.WaitFor(10*time.Second, "the timing line", func() bool {
		return strings.Contains(browser.Eval[string](tb, `document.getElementById("log").textContent`), "tokens/s")
	})
	// The prompt preview now holds the answer too.
	tb.WaitFor(10*time.Second, "the prompt preview", func() bool {
		return strings.Contains(browser.Eval[string](tb, `document.getElementById("prompt").textContent`), "regular eye examinations matter.<|im_end|>")
	})
	tb.Shot("chat-fake-model")

	// Stop mid-answer: the text stops growing, short of the whole reply.
	tb.Do(chromedp.SendKeys(chromedp.ID("q"), "And its treatment?\r"))
	tb.WaitFor(10*time.Second, "the second answer to start", func() bool {
		return browser.Eval[bool](tb, `document.querySelectorAll("#log .msg.assistant").length === 2`) && len(tb.Text(lastAnswer)) > 20
	})
	tb.Do(chromedp.Click(chromedp.ID("stop")))
	tb.WaitFor(10*time.Second, "the send button back", func() bool {
		return browser.Eval[bool](tb, `!document.getElementById("send").disabled`)
	})
	stopped := tb.Text(lastAnswer)
	time.Sleep(300 * time.Millisecond)
	if after := tb.Text(lastAnswer); after != stopped || len(stopped) >= len(e2eReply) || !strings.HasPrefix(e2eReply, stopped) {
		t.Errorf("after stop: %q then %q", stopped, after)
	}
}

func TestE2EAdminRun(t *testing.T) {
	s := newE2E(t)
	tb := browser.Start(t)

	// A wrong password is refused, and no session is set.
	tb.Do(chromedp.Navigate(s.url+"/admin/runs"), chromedp.WaitReady(chromedp.CSS(`html[data-ready="login"]`)),
		chromedp.SendKeys(chromedp.ID("password"), "wrong guess\r"),
		chromedp.WaitVisible(chromedp.CSS("#login-error:not(:empty)")))
	if got := browser.Eval[string](tb, `document.getElementById("login-error").textContent`); got != "Wrong password." {
		t.Errorf("wrong password: %q", got)
	}
	tb.Shot("login-refused")
	browser.Eval[string](tb, `document.getElementById("password").value = ""`)
	tb.Do(chromedp.SendKeys(chromedp.ID("password"), testPassword+"\r"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="runs"]`)))

	// Start a tiny run (the fake trainer: 150 ms per step).
	tb.Do(
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
	tb.Shot("runs-started")

	// Live loss points arrive over /ws/runs/{id}.
	tb.Do(chromedp.Click(chromedp.ID("new-run")), chromedp.WaitReady(chromedp.CSS(`html[data-ready="run"]`)))
	points := func() int {
		return browser.Eval[int](tb, `Number(document.querySelector("#chart polyline.s-train")?.dataset.n || 0)`)
	}
	first := points()
	tb.WaitFor(30*time.Second, "live loss points", func() bool { n := points(); return n >= first+4 && n >= 8 })
	if st := browser.Eval[string](tb, `document.querySelector("#run-status .badge").dataset.status`); st != "running" {
		t.Errorf("status badge %q while training", st)
	}
	if step := browser.Eval[string](tb, `document.getElementById("run-step").textContent`); !strings.HasSuffix(step, "/ 200") {
		t.Errorf("step figure %q", step)
	}
	tb.Shot("run-live")

	// Cancel: the trainer checkpoints and exits; the page hears the new status.
	tb.Do(chromedp.Click(chromedp.CSS(`button[data-action="cancel"]`)))
	if !testkit.Poll(30*time.Second, func() bool {
		return browser.Eval[string](tb, `document.querySelector("#run-status .badge").dataset.status`) == "cancelled"
	}) {
		r, _ := s.runs.Get(list[0].ID)
		t.Fatalf("the page did not show the cancel; server status %q; page log:\n%s\n%s", r.Status,
			browser.Eval[string](tb, `document.getElementById("run-status").innerHTML + document.getElementById("run").dataset.status`), browser.Eval[string](tb, `document.getElementById("action-error").textContent`))
	}
	if r, err := s.runs.Get(list[0].ID); err != nil || r.Status != runs.StatusCancelled {
		t.Errorf("server: %+v %v", r, err)
	}
	if !browser.Eval[bool](tb, `!document.querySelector('button[data-action="resume"]').disabled && document.querySelector('button[data-action="cancel"]').disabled`) {
		t.Error("after cancel, resume should be enabled and cancel disabled")
	}
	tb.Shot("run-cancelled")

	// Resume: training continues from the checkpoint, and the page follows it again.
	stepNow := func() int {
		return browser.Eval[int](tb, `parseInt(document.getElementById("run-step").textContent) || 0`)
	}
	cancelledAt := stepNow()
	tb.Do(chromedp.Click(chromedp.CSS(`button[data-action="resume"]`)))
	tb.WaitFor(30*time.Second, "steps after the resume", func() bool { return stepNow() >= cancelledAt+3 })
	if st := browser.Eval[string](tb, `document.querySelector("#run-status .badge").dataset.status`); st != "running" {
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
	tb.Do(chromedp.Click(chromedp.CSS(`button[data-action="cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-status .badge[data-status="cancelled"]`)))
	tb.Do(chromedp.Navigate(s.url+"/admin/runs"), chromedp.WaitVisible(chromedp.ID("runs")))
	tb.Shot("runs")
}
