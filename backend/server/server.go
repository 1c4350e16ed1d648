// Package server is medqa's HTTP face: the chat websocket, the OpenAI-compatible API, the
// admin API for training runs and models, health and metrics, static assets and the pages
// (mounted from outside), behind security headers, body limits and timeouts.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/runs"
)

// Options wires the server. Engine and Auth are required.
type Options struct {
	Engine *engine.Engine
	Auth   *auth.Auth
	Runs   *runs.Manager // nil: no training API
	// LoadModel turns a model directory (plus an optional PEFT adapter directory) into a
	// servable bundle named name; POST /api/models/{id}/activate calls it and swaps the
	// engine to the result.
	LoadModel ModelLoader
	Pages     http.Handler // the web pages, mounted at "/"; nil: 404
	Sources   *Sources     // the knowledge base answers cite and RAG prompts hold; nil: none
	Static    fs.FS        // served at /static/; nil: none
	Logger    *slog.Logger

	AllowedOrigins []string // extra browser origins allowed besides the server's own ("https://host")
	AllowedHosts   []string // Host names answered (HostName form; "*": any); nil: DefaultHosts
	// TrustedProxies are the peers whose X-Forwarded-For/-Proto are believed (auth.TrustProxies);
	// nil: none, the peer address is the client.
	TrustedProxies []netip.Prefix
	RequireLogin   bool          // chat (websocket and /v1) needs a session too
	ChatLimiter    *auth.Limiter // asks per client; nil: burst 20, then 2 per second
	// MaxStreamsPerClient caps one client's chat streams open at once (waiting and active,
	// websocket and /v1 together); 0: 4.
	MaxStreamsPerClient int
	MaxBody             int64         // request body limit in bytes; 0: 1 MiB
	WSMaxMessage        int64         // websocket message limit in bytes; 0: 256 KiB
	WriteWait           time.Duration // deadline for one websocket frame or SSE chunk; 0: 10 s
	PingEvery           time.Duration // websocket keep-alive; 0: 25 s (peer must answer within 2.5×)
}

// ModelLoader loads a model for serving (see Options.LoadModel).
type ModelLoader func(ctx context.Context, name, dir, adapter string) (engine.Bundle, error)

// RecoverLoad turns a panic while loading (a malformed file that a parser indexes past) into
// an error naming the directory, so a bad model fails its activation, not the server.
func RecoverLoad(load ModelLoader) ModelLoader {
	return func(ctx context.Context, name, dir, adapter string) (b engine.Bundle, err error) {
		defer func() {
			if v := recover(); v != nil {
				b, err = engine.Bundle{}, fmt.Errorf("loading %s: internal error: %v", dir, v)
			}
		}()
		return load(ctx, name, dir, adapter)
	}
}

// Server serves medqa over HTTP.
type Server struct {
	opt     Options
	log     *slog.Logger
	met     *metrics
	slots   *clientSlots
	handler http.Handler

	draining atomic.Bool
	drain    chan struct{} // closed when Shutdown starts
	drainOne sync.Once
	sockets  sync.WaitGroup // hijacked websocket handlers, which http.Server.Shutdown does not wait for
}

// New builds the server's routes.
func New(opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.ChatLimiter == nil {
		opt.ChatLimiter = auth.NewLimiter(2, 20)
	}
	if opt.LoadModel != nil {
		opt.LoadModel = RecoverLoad(opt.LoadModel)
	}
	if opt.AllowedHosts == nil {
		opt.AllowedHosts = DefaultHosts
	}
	hosts := make([]string, len(opt.AllowedHosts))
	for i, h := range opt.AllowedHosts {
		hosts[i] = HostName(h)
	}
	opt.AllowedHosts = hosts
	if opt.MaxStreamsPerClient == 0 {
		opt.MaxStreamsPerClient = 4
	}
	if opt.MaxBody == 0 {
		opt.MaxBody = 1 << 20
	}
	if opt.WSMaxMessage == 0 {
		opt.WSMaxMessage = 256 << 10
	}
	if opt.WriteWait == 0 {
		opt.WriteWait = 10 * time.Second
	}
	if opt.PingEvery == 0 {
		opt.PingEvery = 25 * time.Second
	}
	s := &Server{opt: opt, log: opt.Logger, met: newMetrics(opt.Engine, opt.Runs), slots: newClientSlots(opt.MaxStreamsPerClient), drain: make(chan struct{})}
	mux := http.NewServeMux()

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.met.reg, promhttp.HandlerOpts{}))

	chat := func(h http.HandlerFunc) http.Handler {
		if opt.RequireLogin {
			return opt.Auth.RequireSession(h)
		}
		return h
	}
	mux.Handle("GET /ws/chat", chat(s.chatSocket))
	mux.Handle("POST /v1/chat/completions", chat(s.chatCompletions))
	mux.Handle("GET /v1/models", chat(s.listModels))
	mux.Handle("GET /api/tokenizer/{file}", chat(s.tokenizerFile))
	mux.Handle("GET /api/sources", chat(s.sourcesAPI))

	mux.HandleFunc("POST /api/login", opt.Auth.LoginHandler)
	mux.HandleFunc("GET /api/session", opt.Auth.SessionHandler)
	admin := func(h http.HandlerFunc) http.Handler { return opt.Auth.RequireSession(h) }
	mux.Handle("POST /api/logout", admin(opt.Auth.LogoutHandler))
	mux.Handle("POST /api/logout-all", admin(opt.Auth.LogoutAllHandler))
	s.adminRoutes(mux, admin)

	if opt.Static != nil {
		mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(opt.Static)))
	}
	if opt.Pages != nil {
		mux.Handle("/", opt.Pages)
	}
	s.handler = s.recoverer(auth.TrustProxies(opt.TrustedProxies, s.logRequests(s.checkHost(s.secure(s.sameOriginWrites(mux))))))
	return s
}

// Handler is the whole server as an http.Handler (for tests and custom listeners).
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer wraps the handler in an http.Server with a timeout on every phase. Streaming
// responses extend their own write deadline chunk by chunk, so WriteTimeout only bounds
// ordinary responses.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Shutdown stops in order: no new connections or asks; answers in progress (HTTP, SSE and
// websocket) finish within ctx; then the engine stops, and a running training job is asked
// to checkpoint and exit.
func (s *Server) Shutdown(ctx context.Context, hs *http.Server) error {
	s.drainOne.Do(func() { s.draining.Store(true); close(s.drain) })
	var errs []error
	if hs != nil {
		errs = append(errs, hs.Shutdown(ctx))
	}
	done := make(chan struct{})
	go func() { s.sockets.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, errors.New("websocket streams still open at the end of the grace period"))
	}
	errs = append(errs, s.opt.Engine.Shutdown(ctx))
	if s.opt.Runs != nil {
		errs = append(errs, s.opt.Runs.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readyz is 200 once a model is loaded and while not shutting down, so a load balancer
// stops sending chats before the engine stops taking them.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.opt.Engine.Stats()
	switch {
	case s.draining.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "shutting down"})
	case st.Model == "":
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "no model loaded"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "model": st.Model, "active": st.Active, "waiting": st.Waiting})
	}
}
