//go:build e2e

package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"medqa/files/testkit/browser"
	"medqa/wasm/metrics"
)

// These tests drive headless Debian Chromium (files/testkit/browser) through the pages against
// fakeBackend.

// withoutModule is the warning of a page served without the browser module (fakeBackend's
// handler() without a wasm folder): the chat page works on without its live token count.
const withoutModule = "medqa wasm module unavailable"

const lastAnswer = "#log .msg.assistant:last-child .text"

func TestBrowserChatStreamsAndStops(t *testing.T) {
	tb := browser.Start(t)
	tb.Expect(withoutModule)
	fake := newFakeBackend()
	srv := httptest.NewServer(fake.handler())
	defer srv.Close()

	// Ask with the keyboard: type, then Enter.
	tb.Do(
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`html[data-ready="chat"]`)),
		chromedp.SendKeys(chromedp.ID("q"), "What is glaucoma?\r"),
	)
	// The answer must grow in several visible steps, not appear at once.
	var seen []int
	tb.WaitFor(20*time.Second, "the whole answer", func() bool {
		s := tb.Text(lastAnswer)
		if n := len(s); n > 0 && (len(seen) == 0 || n != seen[len(seen)-1]) {
			seen = append(seen, n)
		}
		return s == fakeAnswer
	})
	if len(seen) < 5 {
		t.Fatalf("answer grew in %d steps (%v), want several", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Fatalf("answer shrank: %v", seen)
		}
	}
	if got := tb.Text(lastAnswer); got != fakeAnswer {
		t.Fatalf("answer = %q, want the streamed text", got)
	}
	tb.Do(chromedp.WaitVisible(chromedp.CSS("#log .msg.assistant .meta")))
	if meta := tb.Text("#log .msg.assistant .meta"); !strings.Contains(meta, "24.5 tokens/s") || !strings.Contains(meta, "first token 42 ms") {
		t.Errorf("done frame not shown: %q", meta)
	}
	// The sources arrive before the answer and stay under it as cards: organisation, title
	// linking to the NIH page, reachable with the keyboard; markup in a title stays text and
	// a non-http URL gets no link.
	cards := browser.Eval[[]string](tb, `[...document.querySelectorAll("#log .msg.assistant .sources li.source")].map(li => li.innerText.replace(/\s+/g, " ").trim())`)
	if len(cards) != 2 || cards[0] != "MedlinePlus (NLM) What is (are) Glaucoma? Glaucoma · information" ||
		!strings.HasPrefix(cards[1], "Genetics Home Reference (NLM) <img src=x onerror=alert(1)>Glaucoma?") {
		t.Fatalf("source cards = %q", cards)
	}
	if links := browser.Eval[[]string](tb, `[...document.querySelectorAll("#log .msg.assistant .sources a")].map(a => a.href + " " + a.rel)`); len(links) != 1 ||
		links[0] != "https://www.nlm.nih.gov/medlineplus/glaucoma.html noopener noreferrer" {
		t.Fatalf("source links = %q, want the http(s) one only", links)
	}
	if !browser.Eval[bool](tb, `(() => { const a = document.querySelector("#log .sources a"); a.focus(); return document.activeElement === a && a.tabIndex === 0; })()`) {
		t.Error("the source link cannot take keyboard focus")
	}
	if browser.Eval[bool](tb, `document.querySelector("#log .sources img") !== null`) {
		t.Error("a source title was parsed as HTML")
	}
	// The sources sit under the answer text, above its meta line.
	if order := browser.Eval[[]string](tb, `[...document.querySelector("#log .msg.assistant").children].map(e => e.className)`); strings.Join(order, ",") != "who,text,sources,meta" {
		t.Errorf("answer layout = %q", order)
	}
	tb.Shot("chat")

	// Second question: stop it mid-answer with the Stop button.
	tb.Do(chromedp.SendKeys(chromedp.ID("q"), "And how is it treated?\r"))
	tb.WaitFor(10*time.Second, "the second answer", func() bool { return len(strings.Fields(tb.Text(lastAnswer))) >= 5 })
	tb.Do(chromedp.Click(chromedp.ID("stop")))
	tb.WaitFor(5*time.Second, "the stopped answer to finish", func() bool {
		return browser.Eval[int](tb, `document.querySelectorAll("#log .msg.assistant .meta").length`) == 2
	})
	stopped := tb.Text(lastAnswer)
	time.Sleep(400 * time.Millisecond) // 10 token intervals: nothing more may arrive
	if after := tb.Text(lastAnswer); after != stopped {
		t.Errorf("answer kept growing after stop: %q → %q", stopped, after)
	}
	if len(stopped) >= len(fakeAnswer) {
		t.Errorf("stop did not cut the answer short (%d chars)", len(stopped))
	}
	if meta := tb.Text("#log .msg.assistant:last-child .meta"); !strings.Contains(meta, "stopped") {
		t.Errorf("stopped answer meta = %q", meta)
	}
	stops, asks := fake.counts()
	if stops != 1 || len(asks) != 2 || asks[1] != "And how is it treated?" {
		t.Errorf("server saw stops=%d asks=%q", stops, asks)
	}
	fake.mu.Lock()
	rags := fmt.Sprint(fake.rags)
	fake.mu.Unlock()
	if rags != "[false false]" { // the checkbox's default: DefaultChatSettings has RAG off
		t.Errorf("asks carried rag %s, want [false false]", rags)
	}
	if !browser.Eval[bool](tb, `!document.getElementById("send").disabled && document.getElementById("stop").disabled`) {
		t.Error("after stop, Send should be enabled and Stop disabled")
	}

	// The same page on a phone.
	tb.Do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	if browser.Eval[bool](tb, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("chat page scrolls sideways on a 390 px wide phone")
	}
	tb.Shot("chat-phone")
}

func TestBrowserAdminRun(t *testing.T) {
	tb := browser.Start(t)
	tb.Expect(withoutModule)
	fake := newFakeBackend()
	srv := httptest.NewServer(fake.handler())
	defer srv.Close()

	// The admin page sends an anonymous visitor to sign in; a wrong password is refused.
	tb.Do(
		chromedp.Navigate(srv.URL+"/admin/runs"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="login"]`)),
		chromedp.SendKeys(chromedp.ID("password"), "wrong guess\r"),
		chromedp.WaitVisible(chromedp.CSS("#login-error:not(:empty)")),
	)
	if loc := browser.Eval[string](tb, `location.pathname + location.search`); loc != "/admin/login?next=%2Fadmin%2Fruns" {
		t.Errorf("anonymous /admin/runs went to %s", loc)
	}
	if got := tb.Text("#login-error"); got != "Wrong password." {
		t.Errorf("wrong password message = %q", got)
	}
	tb.Shot("login-refused")
	if _, ok := fake.Session(httptest.NewRequest(http.MethodGet, "/", nil)); ok {
		t.Fatal("the fake accepts a request without a session")
	}

	// Right password → the page it came from.
	browser.Eval[string](tb, `document.getElementById("password").value = ""`)
	tb.Do(
		chromedp.SendKeys(chromedp.ID("password"), fake.password+"\r"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="runs"]`)),
	)
	if loc := browser.Eval[string](tb, `location.pathname`); loc != "/admin/runs" {
		t.Fatalf("after sign-in at %s", loc)
	}

	// The plan above the form names the default base model and data, and follows the inputs.
	if base, data := tb.Text(`[data-plan="base_model"]`), tb.Text(`[data-plan="data"]`); base != "assets/model" || data != "data/splits" {
		t.Errorf("plan shows base %q and data %q, want the form's defaults", base, data)
	}
	follow := `(() => { const i = document.querySelector('input[name="data"]'); const was = i.value;
		i.value = "other/splits"; i.dispatchEvent(new Event("input"));
		const shown = document.querySelector('[data-plan="data"]').textContent;
		i.value = was; i.dispatchEvent(new Event("input")); return shown; })()`
	if got := browser.Eval[string](tb, follow); got != "other/splits" {
		t.Errorf("after editing the data input the plan shows %q", got)
	}

	// An invalid value is caught in the browser; nothing is sent.
	tb.Do(
		chromedp.SetValue(chromedp.CSS(`input[name="lora_r"]`), "0"),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.CSS("#start-error:not(:empty)")),
	)
	if got := tb.Text("#start-error"); !strings.Contains(got, "LoRA rank") {
		t.Errorf("validation message = %q", got)
	}
	if runs := mustRuns(t, fake); len(runs) != 0 {
		t.Fatalf("an invalid form started a run: %v", runs)
	}

	// A valid run: the exact JSON sent is shown, then the run page draws live loss points.
	tb.Do(
		chromedp.SetValue(chromedp.CSS(`input[name="lora_r"]`), "8"),
		chromedp.SetValue(chromedp.CSS(`input[name="max_steps"]`), "200"),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.ID("new-run")),
	)
	sent := tb.Text("#sent")
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
	tb.Shot("runs-started")

	tb.Do(chromedp.Click(chromedp.ID("new-run")), chromedp.WaitReady(chromedp.CSS(`html[data-ready="run"]`)))
	points := func() int {
		return browser.Eval[int](tb, `Number(document.querySelector("#chart polyline.s-train")?.dataset.n || 0)`)
	}
	first := points()
	tb.WaitFor(15*time.Second, "live loss points", func() bool { n := points(); return n >= first+4 && n >= 12 })
	if step, loss := tb.Text("#run-step"), tb.Text("#run-loss"); !strings.HasSuffix(step, "/ 200") || loss == "—" {
		t.Errorf("live figures step=%q loss=%q", step, loss)
	}
	tb.WaitFor(10*time.Second, "validation points", func() bool {
		return browser.Eval[int](tb, `document.querySelectorAll("#chart circle.s-val").length`) >= 2
	})
	tb.Shot("run-live")

	// Cancel.
	tb.Do(
		chromedp.Click(chromedp.CSS(`button[data-action="cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#run-status .badge[data-status="cancelled"]`)),
	)
	if r := mustRuns(t, fake)[0]; r.Status != "cancelled" {
		t.Errorf("server status %q after cancel", r.Status)
	}
	if !browser.Eval[bool](tb, `!document.querySelector('button[data-action="resume"]').disabled && document.querySelector('button[data-action="cancel"]').disabled`) {
		t.Error("after cancel, resume should be enabled and cancel disabled")
	}
	tb.Shot("run-cancelled")

	// The runs table and the report view.
	tb.Do(chromedp.Navigate(srv.URL+"/admin/runs"), chromedp.WaitVisible(chromedp.ID("runs")))
	tb.Shot("runs")
	tb.Do(chromedp.Navigate(fmt.Sprintf("%s/admin/runs/%s/report", srv.URL, runs[0].ID)), chromedp.WaitVisible(chromedp.ID("qtypes")))
	tb.Shot("report")

	// Sign out: back to the sign-in page.
	tb.Do(chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("password")))
	tb.Clean()
}

func mustRuns(t *testing.T, f *fakeBackend) []Run {
	t.Helper()
	runs, err := f.ListRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// TestBrowserScorePage fills the score tool as a person does (typing, a second reference added
// with its button) and checks every number the results table shows against the server side's
// own scores of the same texts (medqa/wasm/metrics called here), as the page rounds them.
func TestBrowserScorePage(t *testing.T) {
	tb := browser.Start(t)
	srv := httptest.NewServer(newFakeBackend().handler(os.DirFS(buildWasm(t, ""))))
	defer srv.Close()
	pred := "Glaucoma damages the optic nerve, often because of high pressure in the eye."
	refs := []string{
		"Glaucoma is a group of eye diseases that damage the optic nerve, usually because of high pressure inside the eye.",
		"Glaucoma harms the nerve of the eye.",
	}
	tb.Do(
		chromedp.Navigate(srv.URL+"/score"),
		chromedp.WaitReady(chromedp.CSS(`html[data-ready="score"]`)),
		chromedp.WaitEnabled(chromedp.ID("score-btn")),
		chromedp.SendKeys(chromedp.ID("prediction"), pred),
		chromedp.SendKeys(chromedp.ID("ref-0"), refs[0]),
		chromedp.Click(chromedp.ID("add-ref")),
		chromedp.WaitVisible(chromedp.ID("ref-1")),
		chromedp.SendKeys(chromedp.ID("ref-1"), refs[1]),
		chromedp.Click(chromedp.ID("score-btn")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	server, err := metrics.Score(pred, refs)
	if err != nil || server.BLEU.Err != nil {
		t.Fatalf("server scores: %v, BLEU %v", err, server.BLEU.Err)
	}
	if server.BLEU.Result.BLEU == 0 || server.Squad.F1 == 0 {
		t.Fatal("the texts must share 4-grams and words, or the comparison proves little")
	}
	// Each row the page shows, by its metric name, and the server's value it stands for.
	want := map[string]float64{
		"SQuAD F1":                    server.Squad.F1,
		"Exact match":                 server.Squad.ExactMatch,
		"ROUGE-1":                     server.Rouge.Rouge1,
		"ROUGE-2":                     server.Rouge.Rouge2,
		"ROUGE-L":                     server.Rouge.RougeL,
		"ROUGE-Lsum":                  server.Rouge.RougeLsum,
		"ROUGE-L (stemmed)":           server.RougeStemmed.RougeL,
		"BLEU":                        server.BLEU.Result.BLEU,
		"sacreBLEU (sentence, 0–100)": server.SacreBLEUSentence.Score,
	}
	shown := browser.Eval[map[string]string](tb, `Object.fromEntries([...document.querySelectorAll("#scores td[data-metric]")].map((td) => [td.dataset.metric, td.textContent]))`)
	for name, v := range want {
		// Go's %.4f and JavaScript's toFixed(4) round the same exact binary value: no ties
		// are possible at four decimals.
		if got, w := shown[name], fmt.Sprintf("%.4f", v); got != w {
			t.Errorf("%s: the page shows %q, the server's score is %s (%v)", name, got, w, v)
		}
	}
	if len(shown) != len(want) {
		t.Errorf("the page shows %d metrics %v, want %d", len(shown), shown, len(want))
	}
	tb.Shot("score")
}
