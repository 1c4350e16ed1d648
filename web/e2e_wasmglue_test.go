//go:build e2e

package web

import (
	"encoding/json"
	"fmt"
	"io"
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

	"medqa/files/testkit/browser"
)

// buildWasm compiles wasm/cmd/medqa-wasm with the given build tags into a fresh folder, beside
// the wasm_exec.js of the toolchain that built it, as `make wasm` lays out assets/wasm.
func buildWasm(t *testing.T, tags string) string {
	t.Helper()
	dir := t.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "build", "-tags", tags, "-trimpath", "-ldflags=-s", "-o", filepath.Join(dir, "medqa.wasm"), "medqa/wasm/cmd/medqa-wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the wasm module: %v\n%s", err, out)
	}
	src, err := os.Open(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserWasmGlue checks the path from page to module — loading under the CSP, the JSON
// bridge, the live count and the prompt preview — with the stand-in core (medqa_stub), whose
// answers are known: one token per byte and plain ChatML.
func TestBrowserWasmGlue(t *testing.T) {
	tb := browser.Start(t)
	dir := buildWasm(t, "medqa_stub")
	srv := httptest.NewServer(newFakeBackend().handler(os.DirFS(dir)))
	defer srv.Close()

	question := "Is héllo 9 bytes?"
	tb.Do(
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="chat"]`)),
		chromedp.SendKeys(chromedp.ID("q"), question),
	)
	wantPrompt := "<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n"
	tb.WaitFor(15*time.Second, "the token count", func() bool { return tb.Text("#prompt") == wantPrompt })
	if got, want := browser.Eval[string](tb, `document.getElementById("count").dataset.tokens`), "18"; got != want {
		t.Errorf("count = %s tokens, want %s (bytes of %q)", got, want, question)
	}
	if got, want := tb.Text("#count"), fmt.Sprintf("18 tokens · prompt %d", len(wantPrompt)); got != want {
		t.Errorf("count text = %q, want %q", got, want)
	}
	ids, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[[]int](
		`import("/static/js/wasm.js").then((w) => w.loadMedqa()).then((m) => m.tokenize("ab"))`, chromedp.EvalAwaitPromise))
	if err != nil || len(ids) != 2 || ids[0] != 'a' || ids[1] != 'b' {
		t.Errorf("tokenize(\"ab\") = %v, %v", ids, err)
	}
	if _, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[string](
		`import("/static/js/wasm.js").then((w) => w.loadMedqa()).then((m) => m.renderChat("not a list", true))`, chromedp.EvalAwaitPromise)); err == nil || !strings.Contains(err.Error(), "renderChat: messages") {
		t.Errorf("a bad argument should throw a clear Error, got %v", err)
	}
	tb.Shot("chat-wasm")

	tb.Do(
		chromedp.Navigate(srv.URL+"/score"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="score"]`)),
		chromedp.WaitEnabled(chromedp.ID("score-btn")),
		chromedp.SendKeys(chromedp.ID("prediction"), "abc"),
		chromedp.SendKeys(chromedp.ID("ref-0"), "abcd"),
		chromedp.Click(chromedp.ID("score-btn")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	var got map[string]any
	if err := json.Unmarshal([]byte(tb.Text("#raw")), &got); err != nil {
		t.Fatalf("score output: %v", err)
	}
	if got["prediction_bytes"] != 3.0 || got["references"] != 1.0 {
		t.Errorf("score output = %v", got)
	}
	tb.Clean()
}

func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
