package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"golang.org/x/crypto/bcrypt"

	"medqa/assets"
	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/server"
	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/lora"
	"medqa/trainer/modeldir"
	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// The real model in the server: a random-weight Qwen2 with Qwen2.5's vocabulary (the QwenVocab
// test shape, widened to hidden 64: ~40 MB of f32, mostly the embedding), saved as a Hugging Face
// directory without tokenizer files, so the server falls back to the embedded tokenizer. Its
// replies are gibberish, but exactly determined: the engine must produce qwen2.Generate's tokens.
func tinyModelDir(t testing.TB) string {
	t.Helper()
	s := testkit.QwenVocab
	s.Hidden, s.Intermediate, s.Heads, s.KVHeads, s.MaxPositions = 64, 128, 4, 2, 4096
	s.EOS = []int64{151645} // <|im_end|>, as an Instruct model's
	return qwen2test.Write(t, qwen2test.Config(s), 3)
}

// reference is what qwen2.Generate produces for the conversation with the model in dir
// (Hugging Face or quantized), decoded.
func reference(t *testing.T, dir string, msgs []chat.Message, opt qwen2.GenerateOptions) (string, int) {
	t.Helper()
	m, err := modeldir.Load(dir, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	return referenceWith(t, m, msgs, opt)
}

func referenceWith(t *testing.T, m *qwen2.Model, msgs []chat.Message, opt qwen2.GenerateOptions) (string, int) {
	t.Helper()
	tok, err := tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerBase)
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := chat.Base.Render(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, id := range tok.Encode(prompt) {
		ids = append(ids, int64(id))
	}
	opt.StopIDs = []int64{151643, 151645}
	res, err := m.Generate(context.Background(), ids, opt)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(res.Tokens))
	for i, id := range res.Tokens {
		out[i] = int(id)
	}
	return tok.Decode(out), len(out)
}

// engineReply asks the served bundle once, greedily.
func engineReply(t *testing.T, b engine.Bundle, msgs []chat.Message, maxTokens int) (string, int) {
	t.Helper()
	eng := engine.New(engine.Config{}, &b)
	defer eng.Shutdown(context.Background())
	zero := 0.0
	s, err := eng.Generate(context.Background(), engine.Request{Messages: msgs, Params: engine.Params{Temperature: &zero, MaxTokens: maxTokens}})
	if err != nil {
		t.Fatal(err)
	}
	text, res, err := engine.Collect(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return text, res.CompletionTokens
}

// A PEFT adapter (--adapter) and a medqa int8 directory serve exactly what qwen2.Generate
// gives with the adapter attached and with modeldir.Load's weights.
func TestAdapterAndQuantizedModels(t *testing.T) {
	dir := tinyModelDir(t)
	msgs := []chat.Message{{Role: "user", Content: "What causes gout?"}}
	opt := qwen2.GenerateOptions{MaxNewTokens: 24}
	base, _ := reference(t, dir, msgs, opt)

	m, err := qwen2.Load(dir, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg := lora.Config{R: 4, Alpha: 8, Targets: lora.Modules}
	if err := lora.Attach(m, cfg, 11, torch.Float32); err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(12)
	for _, p := range lora.Params(m) {
		if p.IsB { // B starts at zero, which would make the adapter a no-op
			old := p.Tensor()
			p.Set(torch.Randn(nil, old.Shape(), torch.Float32, torch.CPU).MulScalar(nil, 0.5))
			old.Close()
		}
	}
	adapter := filepath.Join(t.TempDir(), "adapter")
	if err := lora.Save(adapter, m, cfg); err != nil {
		t.Fatal(err)
	}
	want, n := referenceWith(t, m, msgs, opt)
	if want == base {
		t.Fatalf("the adapter does not change the reply %q: the test would prove nothing", base)
	}
	b, err := loadQwen2(context.Background(), "tiny+adapter", dir, adapter)
	if err != nil {
		t.Fatal(err)
	}
	if got, k := engineReply(t, b, msgs, 24); got != want || k != n {
		t.Errorf("with the adapter: engine %q (%d tokens), qwen2.Generate %q (%d)", got, k, want, n)
	}

	q8 := filepath.Join(t.TempDir(), "int8")
	if _, err := quant.Quantize(dir, q8, quant.Options{Bits: 8}); err != nil {
		t.Fatal(err)
	}
	want, n = reference(t, q8, msgs, opt)
	b, err = loadQwen2(context.Background(), "tiny-int8", q8, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, k := engineReply(t, b, msgs, 24); got != want || k != n {
		t.Errorf("int8: engine %q (%d tokens), qwen2.Generate on modeldir.Load %q (%d)", got, k, want, n)
	}
}

func TestEngineEqualsGenerate(t *testing.T) {
	dir := tinyModelDir(t)
	b, err := loadQwen2(context.Background(), "tiny", dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{151643, 151645}; fmt.Sprint(b.Stop) != fmt.Sprint(want) {
		t.Errorf("stop ids %v, want %v", b.Stop, want)
	}
	eng := engine.New(engine.Config{MaxBatch: 4}, &b)
	defer eng.Shutdown(context.Background())

	questions := []string{"What is glaucoma?", "How is anemia treated?", "Symptoms of gout — and their causes?"}
	type want struct {
		text string
		n    int
	}
	zero, temp, seed := 0.0, 0.8, uint64(7)
	cases := []struct {
		name   string
		params engine.Params
		opt    qwen2.GenerateOptions
	}{
		{"greedy", engine.Params{Temperature: &zero, MaxTokens: 24}, qwen2.GenerateOptions{MaxNewTokens: 24}},
		{"sampled", engine.Params{Temperature: &temp, Seed: &seed, MaxTokens: 24},
			qwen2.GenerateOptions{MaxNewTokens: 24, Sampling: qwen2.Sampling{Temperature: temp, Seed: seed}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wants := make([]want, len(questions))
			for i, q := range questions {
				wants[i].text, wants[i].n = reference(t, dir, []chat.Message{{Role: "user", Content: q}}, c.opt)
				if wants[i].n < 8 { // else the comparison below would prove little
					t.Fatalf("%q: the reference reply is only %d tokens", q, wants[i].n)
				}
			}
			if wants[0].text == wants[1].text {
				t.Fatalf("two questions, one reply %q: the comparison would not tell requests apart", wants[0].text)
			}
			// All at once: they share batched decode steps, and each must still get its own reply.
			var wg sync.WaitGroup
			for i, q := range questions {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := eng.Generate(context.Background(), engine.Request{Messages: []chat.Message{{Role: "user", Content: q}}, Params: c.params})
					if err != nil {
						t.Error(err)
						return
					}
					text, res, err := engine.Collect(context.Background(), s)
					if err != nil {
						t.Error(err)
						return
					}
					if text != wants[i].text || res.CompletionTokens != wants[i].n {
						t.Errorf("%q: engine %q (%d tokens), qwen2.Generate %q (%d tokens)", q, text, res.CompletionTokens, wants[i].text, wants[i].n)
					}
				}()
			}
			wg.Wait()
		})
	}
}

// modelServer serves b on a real listener, as main does.
func modelServer(t testing.TB, b engine.Bundle) string {
	t.Helper()
	return modelServerWith(t, engine.New(engine.Config{MaxBatch: 4}, &b))
}

// modelServerWith serves eng (chat rate limit off, for benchmarks).
func modelServerWith(t testing.TB, eng *engine.Engine) string {
	t.Helper()
	dir := t.TempDir()
	name, _ := eng.Client()
	au, err := auth.New(auth.Config{Dir: dir, Password: testPassword, Cost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Engine: eng, Auth: au, Logger: slog.New(slog.DiscardHandler),
		ChatLimiter: auth.NewLimiter(1000, 1000), MaxStreamsPerClient: 64, // benchmarks run 32 streams from one address
		Pages: pages(au, nil, eng, nil, chatSettings(name, engine.Sampling{}, eng.Config()))})
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = srv.HTTPServer("")
	ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx, ts.Config)
		ts.Close()
	})
	return ts.URL
}

func TestServerWithRealModel(t *testing.T) {
	dir := tinyModelDir(t)
	b, err := loadQwen2(context.Background(), "tiny", dir, "")
	if err != nil {
		t.Fatal(err)
	}
	url := modelServer(t, b)
	msgs := []chat.Message{{Role: "user", Content: "What is glaucoma?"}}
	want, n := reference(t, dir, msgs, qwen2.GenerateOptions{MaxNewTokens: 32})
	if n < 8 {
		t.Fatalf("the reference reply is only %d tokens", n)
	}

	// The chat websocket: the reply arrives in several token frames, then done.
	hdr := http.Header{"Origin": {url}}
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws/chat", hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteJSON(map[string]any{"type": "ask", "messages": msgs, "params": map[string]any{"temperature": 0, "max_tokens": 32}}); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	frames := 0
	for {
		var f struct {
			Type, Text string
			Usage      struct {
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if err := c.ReadJSON(&f); err != nil {
			t.Fatal(err)
		}
		if f.Type == "token" {
			text.WriteString(f.Text)
			frames++
			continue
		}
		if f.Type != "done" || f.Usage.CompletionTokens != n {
			t.Fatalf("frame %+v, want done with %d tokens", f, n)
		}
		break
	}
	if text.String() != want || frames < 3 {
		t.Errorf("websocket: %q in %d frames, want %q in several", text.String(), frames, want)
	}

	// The OpenAI SDK: streamed and not, the same text.
	client := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "tiny", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(msgs[0].Content)},
		Temperature: openai.Float(0), MaxTokens: openai.Int(32)}
	res, err := client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != want || res.Model != "tiny" {
		t.Errorf("non-streamed: %q (model %q), want %q", got, res.Model, want)
	}
	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	var pieces []string
	for stream.Next() {
		if ch := stream.Current(); len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
			pieces = append(pieces, ch.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pieces, ""); got != want || len(pieces) < 3 {
		t.Errorf("streamed: %q in %d chunks, want %q", got, len(pieces), want)
	}
}

// The default model starts the server with no flags: from assets/model in the repository, or
// (as here, where the working directory is backend/) from the copy embedded in the binary.
func TestDefaultModelServes(t *testing.T) {
	if _, err := os.Stat(assets.DefaultModelDir); err == nil {
		t.Fatalf("the test expects to run in backend/, where %s does not resolve", assets.DefaultModelDir)
	}
	emb, err := loadDefaultModel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if emb.Name != defaultModelName || emb.Client == nil {
		t.Fatalf("bundle %q, client files %v", emb.Name, emb.Client != nil)
	}
	repo, err := loadQwen2(context.Background(), "repo", filepath.Join("..", assets.DefaultModelDir), "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(emb.Stop) != fmt.Sprint(repo.Stop) || !bytes.Equal(emb.Client.Binary, repo.Client.Binary) {
		t.Errorf("embedded and repository copies differ: stop %v vs %v", emb.Stop, repo.Stop)
	}
	msgs := []chat.Message{{Role: "user", Content: "What is glaucoma?"}}
	a, n := engineReply(t, emb, msgs, 24)
	b, _ := engineReply(t, repo, msgs, 24)
	if a != b || n < 8 {
		t.Errorf("embedded copy answers %q (%d tokens), the repository's %q", a, n, b)
	}
}
