package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// These tests drive headless Debian Chromium through the pages against fakeBackend. They need
// /usr/bin/chromium (make deps-test installs it); outside CI a machine without it skips them.

type tab struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	log []string // console errors and uncaught exceptions
}

func newTab(t *testing.T) *tab {
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
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	}
	tb := &tab{t: t}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithListener(tb.listen))
	t.Cleanup(func() { cancelC(); cancelA() })
	tb.ctx = ctx
	// Record CSP violations from the first byte of every page: scripts added through the
	// DevTools protocol run before the page's own and are not subject to its CSP.
	// This first Run starts the browser, so it gets the test-long context, not a timeout.
	err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " blocked " + e.blockedURI));`})
		return chromedp.Void{}, err
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tb
}

func (tb *tab) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		msg = "console.error:"
		for _, a := range e.Args {
			msg += " " + string(a.Value) + a.Description
		}
	default:
		return
	}
	tb.mu.Lock()
	tb.log = append(tb.log, msg)
	tb.mu.Unlock()
}

// do runs steps and fails the test on error.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatal(err)
	}
}

func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (tb *tab) text(sel string) string {
	return eval[string](tb, fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel))
}

func (tb *tab) waitFor(d time.Duration, what string, cond func() bool) {
	tb.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// clean fails the test if the page broke its CSP or logged an error.
func (tb *tab) clean() {
	tb.t.Helper()
	for _, v := range eval[[]string](tb, `window.__violations || []`) {
		tb.t.Errorf("CSP violation: %s", v)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.log {
		tb.t.Errorf("browser %s", e)
	}
	tb.log = nil
}

// shot saves a full-page PNG to $MEDQA_ARTIFACTS (or a temp dir) after checking the page is clean.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	tb.clean()
	dir := os.Getenv("MEDQA_ARTIFACTS")
	if dir == "" {
		dir = tb.t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path+".tmp", png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s", path)
}

const lastAnswer = "#log .msg.assistant:last-child .text"

func TestBrowserChatStreamsAndStops(t *testing.T) {
	tb := newTab(t)
	fake := newFakeBackend()
	srv := httptest.NewServer(fake.handler())
	defer srv.Close()

	// Ask with the keyboard: type, then Enter.
	tb.do(
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`html[data-ready="chat"]`)),
		chromedp.SendKeys(chromedp.ID("q"), "What is glaucoma?\r"),
	)
	// The answer must grow in several visible steps, not appear at once.
	var seen []int
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s := tb.text(lastAnswer)
		if n := len(s); n > 0 && (len(seen) == 0 || n != seen[len(seen)-1]) {
			seen = append(seen, n)
		}
		if s == fakeAnswer {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(seen) < 5 {
		t.Fatalf("answer grew in %d steps (%v), want several", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Fatalf("answer shrank: %v", seen)
		}
	}
	if got := tb.text(lastAnswer); got != fakeAnswer {
		t.Fatalf("answer = %q, want the streamed text", got)
	}
	tb.do(chromedp.WaitVisible(chromedp.CSS("#log .msg.assistant .meta")))
	if meta := tb.text("#log .msg.assistant .meta"); !strings.Contains(meta, "24.5 tokens/s") || !strings.Contains(meta, "first token 42 ms") {
		t.Errorf("done frame not shown: %q", meta)
	}
	tb.shot("chat")

	// Second question: stop it mid-answer with the Stop button.
	tb.do(chromedp.SendKeys(chromedp.ID("q"), "And how is it treated?\r"))
	tb.waitFor(10*time.Second, "the second answer", func() bool { return len(strings.Fields(tb.text(lastAnswer))) >= 5 })
	tb.do(chromedp.Click(chromedp.ID("stop")))
	tb.waitFor(5*time.Second, "the stopped answer to finish", func() bool {
		return eval[int](tb, `document.querySelectorAll("#log .msg.assistant .meta").length`) == 2
	})
	stopped := tb.text(lastAnswer)
	time.Sleep(400 * time.Millisecond) // 10 token intervals: nothing more may arrive
	if after := tb.text(lastAnswer); after != stopped {
		t.Errorf("answer kept growing after stop: %q → %q", stopped, after)
	}
	if len(stopped) >= len(fakeAnswer) {
		t.Errorf("stop did not cut the answer short (%d chars)", len(stopped))
	}
	if meta := tb.text("#log .msg.assistant:last-child .meta"); !strings.Contains(meta, "stopped") {
		t.Errorf("stopped answer meta = %q", meta)
	}
	stops, asks := fake.counts()
	if stops != 1 || len(asks) != 2 || asks[1] != "And how is it treated?" {
		t.Errorf("server saw stops=%d asks=%q", stops, asks)
	}
	if !eval[bool](tb, `!document.getElementById("send").disabled && document.getElementById("stop").disabled`) {
		t.Error("after stop, Send should be enabled and Stop disabled")
	}

	// The same page on a phone.
	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	if eval[bool](tb, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("chat page scrolls sideways on a 390 px wide phone")
	}
	tb.shot("chat-phone")
}

func TestBrowserAdminRun(t *testing.T) {
	tb := newTab(t)
	fake := newFakeBackend()
	srv := httptest.NewServer(fake.handler())
	defer srv.Close()

	// The admin page sends an anonymous visitor to sign in; a wrong password is refused.
	tb.do(
		chromedp.Navigate(srv.URL+"/admin/runs"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="login"]`)),
		chromedp.SendKeys(chromedp.ID("password"), "wrong guess\r"),
		chromedp.WaitVisible(chromedp.CSS("#login-error:not(:empty)")),
	)
	if loc := eval[string](tb, `location.pathname + location.search`); loc != "/admin/login?next=%2Fadmin%2Fruns" {
		t.Errorf("anonymous /admin/runs went to %s", loc)
	}
	if got := tb.text("#login-error"); got != "Wrong password." {
		t.Errorf("wrong password message = %q", got)
	}
	tb.shot("login-refused")
	if _, ok := fake.Session(httptest.NewRequest(http.MethodGet, "/", nil)); ok {
		t.Fatal("the fake accepts a request without a session")
	}

	// Right password → the page it came from.
	eval[string](tb, `document.getElementById("password").value = ""`)
	tb.do(
		chromedp.SendKeys(chromedp.ID("password"), fake.password+"\r"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="runs"]`)),
	)
	if loc := eval[string](tb, `location.pathname`); loc != "/admin/runs" {
		t.Fatalf("after sign-in at %s", loc)
	}

	// An invalid value is caught in the browser; nothing is sent.
	tb.do(
		chromedp.SetValue(chromedp.CSS(`input[name="lora_r"]`), "0"),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.CSS("#start-error:not(:empty)")),
	)
	if got := tb.text("#start-error"); !strings.Contains(got, "LoRA rank") {
		t.Errorf("validation message = %q", got)
	}
	if runs := mustRuns(t, fake); len(runs) != 0 {
		t.Fatalf("an invalid form started a run: %v", runs)
	}

	// A valid run: the exact JSON sent is shown, then the run page draws live loss points.
	tb.do(
		chromedp.SetValue(chromedp.CSS(`input[name="lora_r"]`), "8"),
		chromedp.SetValue(chromedp.CSS(`input[name="max_steps"]`), "200"),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.ID("new-run")),
	)
	sent := tb.text("#sent")
	for _, want := range []string{`"max_steps": 200`, `"lora_r": 8`, `"lr": 0.0002`, `"target_modules": [`, `"all-linear"`} {
		if !strings.Contains(sent, want) {
			t.Errorf("config shown lacks %s:\n%s", want, sent)
		}
	}
	runs := mustRuns(t, fake)
	if len(runs) != 1 {
		t.Fatalf("%d runs started", len(runs))
	}
	d, _ := fake.GetRun(context.Background(), runs[0].ID)
	if got := prettyJSON(d.Config); got != sent {
		t.Errorf("server received\n%s\nbut the page showed\n%s", got, sent)
	}
	tb.shot("runs-started")

	tb.do(chromedp.Click(chromedp.ID("new-run")), chromedp.WaitReady(chromedp.CSS(`html[data-ready="run"]`)))
	points := func() int {
		return eval[int](tb, `Number(document.querySelector("#chart polyline.s-train")?.dataset.n || 0)`)
	}
	first := points()
	tb.waitFor(15*time.Second, "live loss points", func() bool { n := points(); return n >= first+4 && n >= 12 })
	if step, loss := tb.text("#run-step"), tb.text("#run-loss"); !strings.HasSuffix(step, "/ 200") || loss == "—" {
		t.Errorf("live figures step=%q loss=%q", step, loss)
	}
	tb.waitFor(10*time.Second, "validation points", func() bool {
		return eval[int](tb, `document.querySelectorAll("#chart circle.s-val").length`) >= 2
	})
	tb.shot("run-live")

	// Cancel.
	tb.do(
		chromedp.Click(chromedp.CSS(`button[data-action="cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-status .badge[data-status="cancelled"]`)),
	)
	if r := mustRuns(t, fake)[0]; r.Status != "cancelled" {
		t.Errorf("server status %q after cancel", r.Status)
	}
	if !eval[bool](tb, `!document.querySelector('button[data-action="resume"]').disabled && document.querySelector('button[data-action="cancel"]').disabled`) {
		t.Error("after cancel, resume should be enabled and cancel disabled")
	}
	tb.shot("run-cancelled")

	// The runs table and the report view.
	tb.do(chromedp.Navigate(srv.URL+"/admin/runs"), chromedp.WaitVisible(chromedp.ID("runs")))
	tb.shot("runs")
	tb.do(chromedp.Navigate(fmt.Sprintf("%s/admin/runs/%s/report", srv.URL, runs[0].ID)), chromedp.WaitVisible(chromedp.ID("qtypes")))
	tb.shot("report")

	// Sign out: back to the sign-in page.
	tb.do(chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("password")))
	tb.clean()
}

func mustRuns(t *testing.T, f *fakeBackend) []Run {
	t.Helper()
	runs, err := f.ListRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func TestBrowserScorePage(t *testing.T) {
	tb := newTab(t)
	srv := httptest.NewServer(newFakeBackend().handler())
	defer srv.Close()
	tb.do(
		chromedp.Navigate(srv.URL+"/score"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="score"]`)),
		chromedp.SendKeys(chromedp.ID("prediction"), "Glaucoma damages the optic nerve."),
		chromedp.SendKeys(chromedp.ID("ref-0"), "Glaucoma is a group of eye diseases that damage the optic nerve."),
		chromedp.Sleep(300*time.Millisecond),
	)
	tb.shot("score")
}
