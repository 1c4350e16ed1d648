//go:build e2e

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"medqa/assets"
	"medqa/files/testkit/browser"
	"medqa/wasm/chat"
)

// The chat page counts tokens and previews the prompt with the served model's own tokenizer
// and template (here the Instruct tokenizer_config.json, whose default system prompt differs
// from the base one the browser module carries).
func TestE2EServedTokenizer(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		if err := os.Symlink(filepath.Join(tinyModelDir(t), f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	for src, dst := range map[string]string{
		path.Join(assets.TokenizerBase, "tokenizer.json.gz"):         "tokenizer.json",
		path.Join(assets.TokenizerInstruct, "tokenizer_config.json"): "tokenizer_config.json",
	} {
		b, err := fs.ReadFile(assets.Tokenizer, src)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(src, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	requireWasm(t)
	b, err := loadQwen2(context.Background(), "tiny-instruct", dir, "")
	if err != nil {
		t.Fatal(err)
	}
	tok := b.Tokenizer
	url := modelServer(t, b)
	tb := browser.Start(t)
	const q = "Héllo — what is glaucoma? 🩺"
	tb.Do(chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.CSS(`html[data-ready="chat"]`)),
		chromedp.SendKeys(chromedp.ID("q"), q))
	want := fmt.Sprint(len(tok.Encode(q)))
	tb.WaitFor(20*time.Second, "the live token count", func() bool {
		return browser.Eval[string](tb, `document.getElementById("count").dataset.tokens || ""`) == want
	})
	prompt, err := chat.Instruct.Render([]chat.Message{{Role: "user", Content: q}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := browser.Eval[string](tb, `document.getElementById("prompt").textContent`); got != prompt {
		t.Errorf("prompt preview\n%q\nserver renders\n%q", got, prompt)
	}
}

// The chat page with the shipped default model: a real answer streams in, the timing line
// follows, and the live count uses the model's own (trimmed) tokenizer.
func TestE2EDefaultModelChat(t *testing.T) {
	requireWasm(t)
	b, err := loadDefaultModel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok := b.Tokenizer
	// The page's defaults are the model's (greedy, repetition penalty 1.1), so it must stream
	// exactly what the engine gives with them. That engine must not close the model on
	// shutdown: the server below goes on with it.
	ref := b
	ref.Close = nil
	want24, _ := engineReply(t, ref, []chat.Message{{Role: "user", Content: "What is glaucoma?"}}, 24)
	url := modelServer(t, b)
	tb := browser.Start(t)
	const q = "What is glaucoma?"
	tb.Do(chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.CSS(`html[data-ready="chat"]`)),
		chromedp.SendKeys(chromedp.ID("q"), q))
	want := fmt.Sprint(len(tok.Encode(q)))
	tb.WaitFor(20*time.Second, "the live token count", func() bool {
		return browser.Eval[string](tb, `document.getElementById("count").dataset.tokens || ""`) == want
	})
	tb.Do(chromedp.SendKeys(chromedp.ID("q"), "\r"))
	tb.WaitFor(60*time.Second, "the answer and its timing line", func() bool {
		return strings.Contains(browser.Eval[string](tb, `document.getElementById("log").textContent`), "tokens/s")
	})
	a := tb.Text(lastAnswer)
	if !strings.HasPrefix(a, want24) || !strings.Contains(strings.ToLower(a), "glaucoma") {
		t.Errorf("answer %q: want an answer about glaucoma that starts %q", a, want24)
	}
	tb.WaitFor(10*time.Second, "the prompt preview with the answer", func() bool {
		return strings.Contains(browser.Eval[string](tb, `document.getElementById("prompt").textContent`), a)
	})
	tb.Shot("chat")
}
