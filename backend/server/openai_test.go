package server_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"medqa/backend/engine"
	"medqa/files/testkit"
)

func sdk(h *harness) openai.Client {
	return openai.NewClient(option.WithBaseURL(h.ts.URL+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
}

func TestOpenAISDKStreamedAndNot(t *testing.T) {
	const reply = "Hypertension is high blood pressure — über 140/90 mmHg."
	h := newHarness(t, setup{reply: reply, delay: time.Millisecond})
	client := sdk(h)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model: "medqa",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You answer medical questions."),
			openai.UserMessage("What is hypertension?"),
		},
		Temperature: openai.Float(0),
		Seed:        openai.Int(7),
	}
	res, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != reply || res.Choices[0].FinishReason != "stop" || res.Model != "fake-base" {
		t.Fatalf("non-streamed: %q finish %q model %q", got, res.Choices[0].FinishReason, res.Model)
	}
	if res.Usage.CompletionTokens != int64(len(reply)) || res.Usage.TotalTokens != res.Usage.PromptTokens+res.Usage.CompletionTokens {
		t.Fatalf("usage %+v", res.Usage)
	}

	params.StreamOptions.IncludeUsage = openai.Bool(true)
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	var pieces []string
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			pieces = append(pieces, chunk.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pieces, ""); got != reply || len(pieces) < 2 {
		t.Fatalf("streamed %q in %d pieces, want %q in several", got, len(pieces), reply)
	}
	if acc.Choices[0].Message.Content != reply || acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != int64(len(reply)) {
		t.Fatalf("accumulated %+v usage %+v", acc.Choices[0], acc.Usage)
	}

	page, err := client.Models.List(ctx)
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != "fake-base" {
		t.Fatalf("models: %+v %v", page, err)
	}

	// max_tokens cuts the reply with finish_reason length.
	params.MaxTokens = openai.Int(5)
	res, err = client.Chat.Completions.New(ctx, params)
	if err != nil || res.Choices[0].Message.Content != reply[:5] || res.Choices[0].FinishReason != "length" {
		t.Fatalf("max_tokens: %+v %v", res, err)
	}
}

func TestSSEWireFormat(t *testing.T) {
	h := newHarness(t, setup{reply: "ok"})
	res := h.do("POST", "/v1/chat/completions", `{"model":"x","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, nil)
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var lines []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) < 3 || lines[len(lines)-1] != "data: [DONE]" {
		t.Fatalf("event stream does not end with data: [DONE]: %q", lines)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "data: ") {
			t.Fatalf("line %q is not a data line", l)
		}
	}
}

func TestOpenAIErrors(t *testing.T) {
	h := newHarness(t, setup{reply: strings.Repeat("q", 100000), delay: time.Millisecond, engine: engine.Config{MaxBatch: 1, MaxQueue: 1}})
	for _, c := range []struct {
		body string
		want int
		in   string
	}{
		{`{"messages":[{"role":"tool","content":"x"}]}`, 400, "messages[0].role"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400, "messages[0].content"},
		{`{"messages":[{"role":"user","content":"x"}],"n":2}`, 400, "n:"},
		{`{"messages":[]}`, 400, "messages"},
		{`{"messages":`, 400, "body"},
		{`{"messages":[{"role":"user","content":"` + strings.Repeat("x", 2<<20) + `"}]}`, 413, "body"},
	} {
		res := h.do("POST", "/v1/chat/completions", c.body, nil)
		var b strings.Builder
		bufio.NewReader(res.Body).WriteTo(&b)
		res.Body.Close()
		if res.StatusCode != c.want || !strings.Contains(b.String(), c.in) {
			t.Errorf("%.60s: %d %s; want %d naming %s", c.body, res.StatusCode, b.String(), c.want, c.in)
		}
	}
	// Fill the one slot and the one queue place with streams, then the next gets 429.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		req, _ := http.NewRequestWithContext(ctx, "POST", h.ts.URL+"/v1/chat/completions", strings.NewReader(`{"stream":true,"messages":[{"role":"user","content":"x"}]}`))
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("filling the engine: %v", err)
		}
		defer res.Body.Close()
	}
	res := h.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, nil)
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("full queue: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// The SDK sees a typed error.
	client := sdk(h)
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	var apiErr *openai.Error
	if !errorsAs(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("SDK on a full queue: %v", err)
	}
	cancel()
	testkit.Eventually(t, 10*time.Second, "cancelled HTTP streams to free the engine", func() bool { s := h.eng.Stats(); return s.Active == 0 && s.Waiting == 0 })
}
