//go:build e2e

package web

// The real browser module (built here from wasm/cmd/medqa-wasm, as `make wasm` builds it)
// against the same Go packages called directly: what the page shows must be what the server
// computes.

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"medqa/assets"
	"medqa/files/testkit/browser"
	"medqa/wasm/chat"
	"medqa/wasm/metrics"
	"medqa/wasm/tokenizer"
)

// The live token count on the chat page equals the server's tokenization of the same text.
func TestBrowserTokenCountEqualsServer(t *testing.T) {
	tb := browser.Start(t)
	dir := buildWasm(t, "")
	srv := httptestServer(t, newFakeBackend().handler(os.DirFS(dir)))
	tok, err := tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerBase)
	if err != nil {
		t.Fatal(err)
	}
	tb.Do(chromedp.Navigate(srv+"/"), chromedp.WaitReady(chromedp.CSS(`html[data-ready="chat"]`)))
	for _, text := range []string{
		"What is glaucoma?",
		"  Leading spaces,\ttabs\n\nand   runs   of spaces   ",
		"Héllo wörld — naïve café 🩺 治疗 1234567 <|im_end|>",
		"How to diagnose Alström syndrome ?",
	} {
		tb.Do(chromedp.SetValue(chromedp.ID("q"), text))
		browser.Eval[bool](tb, `document.getElementById("q").dispatchEvent(new Event("input")), true`)
		// The page counts (and sends) the question without surrounding white space.
		question := strings.TrimSpace(text)
		want := strconv.Itoa(len(tok.Encode(question)))
		tb.WaitFor(10*time.Second, "count of "+strconv.Quote(text), func() bool {
			return browser.Eval[string](tb, `document.getElementById("count").dataset.tokens || ""`) == want
		})
		// The preview is the prompt the server renders for the same conversation.
		prompt, err := chat.Base.Render([]chat.Message{{Role: "user", Content: question}}, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := tb.Text("#prompt"); got != prompt {
			t.Errorf("prompt preview of %q:\n%q\nserver renders\n%q", text, got, prompt)
		}
	}
	tb.Clean()
}

// TestBrowserWasmReady reports how long the real module takes from fetch to a ready tokenizer
// in Chromium (a figure for docs/benchmarks.md, not a pass/fail timing) and checks what it reports.
func TestBrowserWasmReady(t *testing.T) {
	tb := browser.Start(t)
	dir := buildWasm(t, "")
	srv := httptestServer(t, newFakeBackend().handler(os.DirFS(dir)))
	// The login page does not load the module itself, so the measurement starts cold.
	tb.Do(chromedp.Navigate(srv+"/admin/login"), chromedp.WaitReady(chromedp.ID("password")))
	ctx, cancel := context.WithTimeout(tb.Ctx, 30*time.Second)
	defer cancel()
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(async () => {
		const t0 = performance.now();
		const m = await (await import("/static/js/wasm.js")).loadMedqa();
		if (!m) throw new Error("module unavailable");
		if (m.countTokens("What is glaucoma?") !== 6) throw new Error("unexpected count");
		return performance.now() - t0;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("medqa.wasm: tokenizer ready and first count in %.0f ms in Chromium", ms)
	tb.Clean()
}

// The score tool shows exactly the server's metrics for the same pair.
func TestBrowserScoreEqualsServer(t *testing.T) {
	tb := browser.Start(t)
	dir := buildWasm(t, "")
	srv := httptestServer(t, newFakeBackend().handler(os.DirFS(dir)))
	pred := "Glaucoma damages the optic nerve, most often due to raised pressure inside the eye."
	ref := "Glaucoma is a group of eye diseases that damage the optic nerve, usually because of high intraocular pressure."
	tb.Do(
		chromedp.Navigate(srv+"/score"),
		chromedp.WaitEnabled(chromedp.ID("score-btn")),
		chromedp.SetValue(chromedp.ID("prediction"), pred),
		chromedp.SetValue(chromedp.ID("ref-0"), ref),
		chromedp.Click(chromedp.ID("score-btn")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	server, err := metrics.Score(pred, []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(server)
	var got, norm any
	json.Unmarshal([]byte(tb.Text("#raw")), &got)
	json.Unmarshal(want, &norm)
	g, _ := json.Marshal(got)
	n, _ := json.Marshal(norm)
	if string(g) != string(n) {
		t.Errorf("browser metrics\n%s\nserver metrics\n%s", g, n)
	}
	tb.Shot("score")
}
