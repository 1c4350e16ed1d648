//go:build medqa_real_wasm

package web

// Equality with the server, for the lead to enable after merging medqa/wasm/tokenizer and
// medqa/wasm/metrics: drop the build tag above (and adapt the two calls marked API to the
// packages' final shapes, as in wasm/cmd/medqa-wasm/bind.go).

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"medqa/assets"
	"medqa/wasm/metrics"
	"medqa/wasm/tokenizer"
)

// The live token count on the chat page equals the server's tokenization of the same text.
func TestBrowserTokenCountEqualsServer(t *testing.T) {
	tb := newTab(t)
	dir := buildWasm(t, "")
	srv := httptestServer(t, newFakeBackend().handler(os.DirFS(dir)))
	tok, err := tokenizer.LoadFS(assets.Tokenizer, ".") // API
	if err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(srv+"/"), chromedp.WaitReady(chromedp.CSS(`html[data-ready="chat"]`)))
	for _, text := range []string{
		"What is glaucoma?",
		"  Leading spaces,\ttabs\n\nand   runs   of spaces   ",
		"Héllo wörld — naïve café 🩺 治疗 1234567 <|im_end|>",
		"How to diagnose Alström syndrome ?",
	} {
		tb.do(chromedp.SetValue(chromedp.ID("q"), text))
		eval[bool](tb, `document.getElementById("q").dispatchEvent(new Event("input")), true`)
		want := strconv.Itoa(len(tok.Encode(text))) // API
		tb.waitFor(10*time.Second, "count of "+strconv.Quote(text), func() bool {
			return eval[string](tb, `document.getElementById("count").dataset.tokens || ""`) == want
		})
	}
}

// The score tool shows exactly the server's metrics for the same pair.
func TestBrowserScoreEqualsServer(t *testing.T) {
	tb := newTab(t)
	dir := buildWasm(t, "")
	srv := httptestServer(t, newFakeBackend().handler(os.DirFS(dir)))
	pred := "Glaucoma damages the optic nerve, most often due to raised pressure inside the eye."
	ref := "Glaucoma is a group of eye diseases that damage the optic nerve, usually because of high intraocular pressure."
	tb.do(
		chromedp.Navigate(srv+"/score"),
		chromedp.WaitEnabled(chromedp.ID("score-btn")),
		chromedp.SetValue(chromedp.ID("prediction"), pred),
		chromedp.SetValue(chromedp.ID("ref-0"), ref),
		chromedp.Click(chromedp.ID("score-btn")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	server, err := metrics.Score(pred, []string{ref}) // API
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(server)
	var got, norm any
	json.Unmarshal([]byte(tb.text("#raw")), &got)
	json.Unmarshal(want, &norm)
	g, _ := json.Marshal(got)
	n, _ := json.Marshal(norm)
	if string(g) != string(n) {
		t.Errorf("browser metrics\n%s\nserver metrics\n%s", g, n)
	}
}
