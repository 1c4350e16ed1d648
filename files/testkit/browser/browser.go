// Package browser drives headless Debian Chromium for medqa's end-to-end
// tests (web/ against its fake backend, backend/ against the real server),
// through chromedp. It is apart from files/testkit so that only the tests
// that start a browser link chromedp.
//
// A Tab fails its test when the page logs a console error or warning,
// throws an uncaught exception, or breaks its Content-Security-Policy: at
// every Clean and Shot, and once more when the test ends.
package browser

import (
	"context"
	"fmt"
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

	"medqa/files/testkit"
)

// Tab is one headless Chromium with one page, closed when the test ends.
type Tab struct {
	t   testing.TB
	Ctx context.Context // for chromedp calls the helpers below do not cover

	mu       sync.Mutex
	log      []string // console errors and warnings, uncaught exceptions
	expected []string // substrings of console messages the test expects
}

// Start launches Chromium ($MEDQA_CHROMIUM, else /usr/bin/chromium, which
// make deps-test installs). Without it the test fails under CI=true and
// skips elsewhere.
func Start(t testing.TB) *Tab {
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
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900))
	tb := &Tab{t: t}
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithListener(tb.listen))
	tb.Ctx = ctx
	t.Cleanup(func() { cancelC(); cancelA() })
	// Record CSP violations from the first byte of every page: scripts added through the
	// DevTools protocol run before the page's own and are not subject to its CSP.
	// This first call starts the browser, so it gets the test-long context, not a timeout.
	err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " blocked " + e.blockedURI));`})
		return chromedp.Void{}, err
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Runs before the browser is closed (cleanups run last-registered first).
	t.Cleanup(func() {
		if !t.Failed() {
			tb.Clean()
		}
	})
	return tb
}

func (tb *Tab) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeWarning {
			return
		}
		msg = "console." + string(e.Type) + ":"
		for _, a := range e.Args {
			msg += " " + string(a.Value) + a.Description
		}
	default:
		return
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.expected {
		if strings.Contains(msg, e) {
			return
		}
	}
	tb.log = append(tb.log, msg)
}

// Expect lets console messages containing substr pass: a page in a degraded
// mode the test sets up on purpose (a server without the browser module)
// says so in a warning.
func (tb *Tab) Expect(substr string) {
	tb.mu.Lock()
	tb.expected = append(tb.expected, substr)
	tb.mu.Unlock()
}

// Do runs chromedp steps within 30 s and fails the test on error.
func (tb *Tab) Do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.Ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatal(err)
	}
}

// Eval evaluates a JavaScript expression in the page within 10 s.
func Eval[T any](tb *Tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.Ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// Text is the textContent of the first element matching the CSS selector,
// "" when none does.
func (tb *Tab) Text(sel string) string {
	tb.t.Helper()
	return Eval[string](tb, fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel))
}

// WaitFor fails the test unless cond becomes true within d.
func (tb *Tab) WaitFor(d time.Duration, what string, cond func() bool) {
	tb.t.Helper()
	testkit.Eventually(tb.t, d, what, cond)
}

// Clean fails the test if the page broke its CSP or logged an error or
// warning since the last Clean.
func (tb *Tab) Clean() {
	tb.t.Helper()
	for _, v := range Eval[[]string](tb, `window.__violations || []`) {
		tb.t.Errorf("CSP violation: %s", v)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.log {
		tb.t.Errorf("browser %s", e)
	}
	tb.log = nil
}

// Shot checks the page is clean, then saves a full-page PNG as
// $MEDQA_ARTIFACTS/name.png when that variable is set (make screenshots).
func (tb *Tab) Shot(name string) {
	tb.t.Helper()
	tb.Clean()
	dir := os.Getenv("MEDQA_ARTIFACTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(tb.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
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
