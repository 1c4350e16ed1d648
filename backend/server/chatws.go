package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/wasm/chat"
)

// Client → server frames.
type wsIn struct {
	Type     string         `json:"type"` // "ask" or "stop"
	Messages []chat.Message `json:"messages"`
	Params   engine.Params  `json:"params"`
	RAG      *bool          `json:"rag"` // passages in the prompt; absent: the model's default
	bad      string         // why the frame could not be read, if it could not
}

// Server → client frames.
type wsOut struct {
	Type         string    `json:"type"`           // token, done, error
	Text         string    `json:"text,omitempty"` // token
	FinishReason string    `json:"finish_reason,omitempty"`
	Model        string    `json:"model,omitempty"`
	Usage        *wsUsage  `json:"usage,omitempty"`
	Timing       *wsTiming `json:"timing,omitempty"`
	Code         string    `json:"code,omitempty"` // error
	Message      string    `json:"message,omitempty"`
	RetryAfterS  int       `json:"retry_after_s,omitempty"`
}

// wsSources is the frame that precedes an answer's first token.
type wsSources struct {
	Type    string   `json:"type"` // "sources"
	Sources []Source `json:"sources"`
}

type wsUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type wsTiming struct {
	TTFTMs     float64 `json:"ttft_ms"`
	TokensPerS float64 `json:"tokens_per_s"`
	QueueMs    float64 `json:"queue_ms"`
	TotalMs    float64 `json:"total_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// chatSocket runs one chat connection: one ask at a time, answered with token frames and a
// done frame; stop or a disconnect cancels the generation, which frees its engine slot.
// All writes happen on this goroutine (gorilla allows one writer); a reader goroutine feeds
// it client frames.
func (s *Server) chatSocket(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.refuse(w, engine.ErrClosed, 0)
		return
	}
	up := websocket.Upgrader{
		ReadBufferSize: 4096, WriteBufferSize: 4096,
		CheckOrigin: func(r *http.Request) bool { return auth.SameOrigin(r, s.opt.AllowedOrigins) },
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered (403 for a foreign origin)
	}
	s.sockets.Add(1)
	defer s.sockets.Done()
	s.met.wsConns.Inc()
	defer s.met.wsConns.Dec()
	defer conn.Close()

	pongWait := s.opt.PingEvery * 5 / 2
	conn.SetReadLimit(s.opt.WSMaxMessage)
	conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })

	quit := make(chan struct{}) // closed when this handler returns; ends the reader
	defer close(quit)
	in := make(chan wsIn)
	readErr := make(chan error, 1)
	go func() {
		for {
			var m wsIn
			_, data, err := conn.ReadMessage()
			if err == nil {
				conn.SetReadDeadline(time.Now().Add(pongWait))
				if jerr := json.Unmarshal(data, &m); jerr != nil {
					m = wsIn{bad: "frame: " + jerr.Error()}
				}
			}
			if err != nil {
				readErr <- err
				return
			}
			select {
			case in <- m:
			case <-quit:
				return
			}
		}
	}()

	write := func(f wsOut) error {
		conn.SetWriteDeadline(time.Now().Add(s.opt.WriteWait))
		return conn.WriteJSON(f)
	}
	fail := func(err error, retry time.Duration) error {
		f := classify(err, retry)
		s.met.refused.WithLabelValues(f.code).Inc()
		return write(wsOut{Type: "error", Code: f.code, Message: f.msg, RetryAfterS: f.retrySeconds()})
	}

	ping := time.NewTicker(s.opt.PingEvery)
	defer ping.Stop()
	var (
		cancel  context.CancelFunc = func() {}
		release                    = func() {} // the client's stream place, while an answer is in progress
		stream  *engine.Stream
		ready   <-chan struct{} // the stream's, while an answer is in progress
		buf     []byte
	)
	defer func() { cancel(); release() }()
	drain := s.drain
	for {
		select {
		case err := <-readErr:
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) && !errors.Is(err, io.EOF) {
				s.log.Debug("chat socket read", "err", err)
			}
			return // deferred cancel stops any generation at once

		case m := <-in:
			switch {
			case m.Type == "stop":
				cancel() // the stream then ends with a done frame, finish_reason "cancelled"
			case m.bad != "" || m.Type != "ask":
				msg := m.bad
				if msg == "" {
					msg = fmt.Sprintf("type: unknown frame type %q (want ask or stop)", m.Type)
				}
				if err := write(wsOut{Type: "error", Code: "bad_request", Message: msg}); err != nil {
					return
				}
			case stream != nil:
				if err := write(wsOut{Type: "error", Code: "busy", Message: "an answer is in progress; send stop first"}); err != nil {
					return
				}
			case s.draining.Load():
				if fail(engine.ErrClosed, 0) != nil {
					return
				}
			default:
				if wait, err := s.rateLimit(r); err != nil {
					if fail(err, wait) != nil {
						return
					}
					continue
				}
				rel, ok := s.slots.acquire(clientKey(r))
				if !ok {
					if fail(errTooManyStreams, time.Second) != nil {
						return
					}
					continue
				}
				release = rel
				ctx, stopAsk := context.WithCancel(r.Context())
				cancel = stopAsk
				req, srcs := s.ground(engine.Request{Messages: m.Messages, Params: m.Params}, m.RAG)
				st, err := s.opt.Engine.Generate(ctx, req)
				if err != nil {
					cancel()
					release()
					if fail(err, 0) != nil {
						return
					}
					continue
				}
				stream, ready = st, st.Ready()
				// The sources go before the first token: this goroutine writes every frame,
				// and tokens only go out from the ready case below.
				if srcs != nil {
					conn.SetWriteDeadline(time.Now().Add(s.opt.WriteWait))
					if conn.WriteJSON(wsSources{Type: "sources", Sources: srcs}) != nil {
						return
					}
				}
			}

		case <-ready:
			// Everything generated since the last frame goes out as one token frame, so a
			// client that reads slowly gets fewer, larger frames rather than a backlog.
			// Take again after a frame: the end may have come with the text under one signal.
			var end error
			for {
				text, err := stream.Take()
				if text != "" {
					buf = tokenFrame(buf[:0], text)
					conn.SetWriteDeadline(time.Now().Add(s.opt.WriteWait))
					if conn.WriteMessage(websocket.TextMessage, buf) != nil {
						return
					}
				}
				if err != nil || text == "" {
					end = err
					break
				}
			}
			if end == nil {
				continue
			}
			res := stream.Result()
			stream, ready = nil, nil
			cancel()
			release()
			s.met.observe(res, errOrNil(end))
			var err error
			if end == io.EOF {
				err = write(doneFrame(res))
			} else {
				f := classify(end, 0) // ended mid-answer (model error, shutdown deadline)
				err = write(wsOut{Type: "error", Code: f.code, Message: f.msg})
			}
			if err != nil {
				return
			}
			if s.draining.Load() {
				s.goAway(conn)
				return
			}

		case <-drain:
			drain = nil
			if stream == nil {
				s.goAway(conn)
				return
			}

		case <-ping.C:
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.opt.WriteWait)) != nil {
				return
			}
		}
	}
}

func errOrNil(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// tokenFrame appends {"type":"token","text":...} to b without reflection: it is the one
// frame sent per token.
func tokenFrame(b []byte, text string) []byte {
	q, _ := json.Marshal(text)
	b = append(b, `{"type":"token","text":`...)
	b = append(b, q...)
	return append(b, '}')
}

func doneFrame(res engine.Result) wsOut {
	return wsOut{
		Type: "done", FinishReason: res.FinishReason, Model: res.Model,
		Usage:  &wsUsage{res.PromptTokens, res.CompletionTokens, res.PromptTokens + res.CompletionTokens},
		Timing: &wsTiming{TTFTMs: ms(res.TTFT), TokensPerS: res.TokensPerS(), QueueMs: ms(res.QueueWait), TotalMs: ms(res.Total)},
	}
}

func (s *Server) goAway(conn *websocket.Conn) {
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
	conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.opt.WriteWait))
}
