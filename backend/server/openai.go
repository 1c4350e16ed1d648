package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/wasm/chat"
)

// oaRequest is the subset of OpenAI's chat completion request medqa honours. Other fields
// are accepted and ignored, so that existing clients work unchanged.
type oaRequest struct {
	Model         string      `json:"model"`
	Messages      []oaMessage `json:"messages"`
	Stream        bool        `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature         *float64 `json:"temperature"`
	TopP                *float64 `json:"top_p"`
	TopK                *int     `json:"top_k"`              // not OpenAI's; vLLM and others accept it
	RepetitionPenalty   *float64 `json:"repetition_penalty"` // likewise
	Seed                *int64   `json:"seed"`               // OpenAI's is signed; the bits are used as is
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	N                   *int     `json:"n"`
	RAG                 *bool    `json:"rag"` // medqa's: passages in the prompt; absent: the model's default
}

type oaMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text accepts content as a string or as an array of parts, of which only text parts are
// understood.
func (m oaMessage) text(i int) (string, error) {
	var s string
	if len(m.Content) == 0 || bytes.Equal(m.Content, []byte("null")) {
		return "", nil
	}
	if err := json.Unmarshal(m.Content, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", fmt.Errorf("messages[%d].content: want a string or an array of parts", i)
	}
	var b bytes.Buffer
	for j, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("messages[%d].content[%d].type: %q is not supported (text only)", i, j, p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

func (q *oaRequest) toEngine() (engine.Request, error) {
	if q.N != nil && *q.N != 1 {
		return engine.Request{}, &engine.InputError{Field: "n", Msg: "only 1 is supported"}
	}
	req := engine.Request{Params: engine.Params{Temperature: q.Temperature, TopP: q.TopP, TopK: q.TopK, RepetitionPenalty: q.RepetitionPenalty}}
	if q.Seed != nil {
		seed := uint64(*q.Seed)
		req.Params.Seed = &seed
	}
	switch {
	case q.MaxCompletionTokens != nil:
		req.Params.MaxTokens = *q.MaxCompletionTokens
	case q.MaxTokens != nil:
		req.Params.MaxTokens = *q.MaxTokens
	}
	for i, m := range q.Messages {
		text, err := m.text(i)
		if err != nil {
			return req, &engine.InputError{Field: fmt.Sprintf("messages[%d].content", i), Msg: err.Error()}
		}
		role := m.Role
		if role == "developer" { // OpenAI's newer name for the system role
			role = "system"
		}
		if role != "system" && role != "user" && role != "assistant" {
			return req, &engine.InputError{Field: fmt.Sprintf("messages[%d].role", i), Msg: fmt.Sprintf("%q is not supported (system, developer, user, assistant)", m.Role)}
		}
		req.Messages = append(req.Messages, chat.Message{Role: role, Content: text})
	}
	return req, nil
}

type oaUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func usage(res engine.Result) *oaUsage {
	return &oaUsage{res.PromptTokens, res.CompletionTokens, res.PromptTokens + res.CompletionTokens}
}

func completionID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "chatcmpl-" + hex.EncodeToString(b)
}

// finishReason maps the engine's reasons onto OpenAI's vocabulary.
func finishReason(r string) string {
	if r == engine.FinishCancelled {
		return "stop"
	}
	return r
}

// chatCompletions is POST /v1/chat/completions.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	if wait, err := s.rateLimit(r); err != nil {
		s.refuse(w, err, wait)
		return
	}
	release, ok := s.slots.acquire(clientKey(r))
	if !ok {
		s.refuse(w, errTooManyStreams, time.Second)
		return
	}
	defer release()
	var q oaRequest
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		if tooLarge(err) {
			s.refuse(w, errTooLarge, 0)
			return
		}
		s.refuse(w, &engine.InputError{Field: "body", Msg: err.Error()}, 0)
		return
	}
	req, err := q.toEngine()
	if err != nil {
		s.refuse(w, err, 0)
		return
	}
	req, srcs := s.ground(req, q.RAG)
	st, err := s.opt.Engine.Generate(r.Context(), req) // the client going away cancels it
	if err != nil {
		s.refuse(w, err, 0)
		return
	}
	id, created := completionID(), time.Now().Unix()
	rc := http.NewResponseController(w)
	if q.Stream {
		s.streamCompletion(w, rc, st, id, created, q.StreamOptions != nil && q.StreamOptions.IncludeUsage, srcs)
		return
	}
	rc.SetWriteDeadline(time.Time{}) // generation may outlast the server's WriteTimeout
	text, res, err := engine.Collect(r.Context(), st)
	s.met.observe(res, err)
	if err != nil {
		s.refuse(w, err, 0)
		return
	}
	rc.SetWriteDeadline(time.Now().Add(s.opt.WriteWait))
	body := map[string]any{
		"id": id, "object": "chat.completion", "created": created, "model": res.Model,
		"choices": []any{map[string]any{
			"index": 0, "message": map[string]any{"role": "assistant", "content": text},
			"finish_reason": finishReason(res.FinishReason), "logprobs": nil,
		}},
		"usage":  usage(res),
		"timing": map[string]any{"ttft_ms": ms(res.TTFT), "tokens_per_s": res.TokensPerS(), "queue_ms": ms(res.QueueWait), "total_ms": ms(res.Total)},
	}
	if srcs != nil {
		body["sources"] = srcs // medqa's extension; OpenAI clients ignore it
	}
	writeJSON(w, http.StatusOK, body)
}

type oaChunk struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []oaChunkChoice `json:"choices"`
	Usage   *oaUsage        `json:"usage,omitempty"`
}

type oaChunkChoice struct {
	Index        int               `json:"index"`
	Delta        map[string]string `json:"delta"`
	FinishReason *string           `json:"finish_reason"`
}

// streamCompletion sends server-sent events: a role chunk, content chunks as text becomes
// complete, a chunk with the finish reason, optionally a usage chunk, then [DONE].
// The first chunk carries the sources (medqa's extension) when there are any.
func (s *Server) streamCompletion(w http.ResponseWriter, rc *http.ResponseController, st *engine.Stream, id string, created int64, withUsage bool, srcs []Source) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	model := st.Model()
	send := func(v any) error {
		rc.SetWriteDeadline(time.Now().Add(s.opt.WriteWait))
		data, ok := v.([]byte)
		if !ok {
			data, _ = json.Marshal(v)
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return err
		}
		return rc.Flush()
	}
	chunk := func(delta map[string]string, finish *string) oaChunk {
		return oaChunk{id, "chat.completion.chunk", created, model, []oaChunkChoice{{0, delta, finish}}, nil}
	}
	w.WriteHeader(http.StatusOK)
	first := any(chunk(map[string]string{"role": "assistant", "content": ""}, nil))
	if srcs != nil {
		first = struct {
			oaChunk
			Sources []Source `json:"sources"`
		}{chunk(map[string]string{"role": "assistant", "content": ""}, nil), srcs}
	}
	if send(first) != nil {
		return // the client is gone; r.Context() cancels the generation
	}
	for {
		text, err := st.Next(context.Background()) // r.Context() cancels through the engine
		if err == nil {
			if send(chunk(map[string]string{"content": text}, nil)) != nil {
				return
			}
			continue
		}
		res := st.Result()
		s.met.observe(res, errOrNil(err))
		if err != io.EOF {
			f := classify(err, 0)
			send(map[string]any{"error": map[string]any{"message": f.msg, "type": f.code, "code": f.code}})
			return
		}
		fr := finishReason(res.FinishReason)
		if send(chunk(map[string]string{}, &fr)) != nil {
			return
		}
		if withUsage {
			u := oaChunk{id, "chat.completion.chunk", created, model, []oaChunkChoice{}, usage(res)}
			if send(u) != nil {
				return
			}
		}
		send([]byte("[DONE]"))
		return
	}
}

// listModels is GET /v1/models: the model being served.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	st := s.opt.Engine.Stats()
	data := []any{}
	if st.Model != "" {
		data = append(data, map[string]any{"id": st.Model, "object": "model", "created": 0, "owned_by": "medqa"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// clientKey identifies a client for rate limits.
func clientKey(r *http.Request) string { return auth.ClientIP(r) }
