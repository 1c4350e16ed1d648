package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"medqa/backend/auth"
	"medqa/backend/runs"
	"medqa/trainer/runspec"
)

// adminRoutes mounts the training and model API; every route needs an admin session, and
// state-changing ones its CSRF token.
func (s *Server) adminRoutes(mux *http.ServeMux, admin func(http.HandlerFunc) http.Handler) {
	if s.opt.Runs == nil {
		off := func(w http.ResponseWriter, r *http.Request) {
			auth.Error(w, http.StatusServiceUnavailable, "training runs are not configured on this server")
		}
		for _, route := range AdminRoutes {
			if route != "POST /api/logout" && route != "POST /api/logout-all" {
				mux.Handle(route, admin(off))
			}
		}
		return
	}
	mux.Handle("POST /api/runs", admin(s.createRun))
	mux.Handle("GET /api/runs", admin(s.listRuns))
	mux.Handle("GET /api/runs/{id}", admin(s.getRun))
	mux.Handle("GET /api/runs/{id}/report", admin(s.runReport))
	mux.Handle("POST /api/runs/{id}/cancel", admin(s.cancelRun))
	mux.Handle("POST /api/runs/{id}/resume", admin(s.resumeRun))
	mux.Handle("POST /api/runs/{id}/evaluate", admin(s.evaluateRun))
	mux.Handle("GET /ws/runs/{id}", admin(s.runSocket))
	mux.Handle("GET /api/models", admin(s.listRunModels))
	mux.Handle("POST /api/models/{id}/activate", admin(s.activateModel))
}

// AdminRoutes lists the admin API's routes (for documentation and tests).
var AdminRoutes = []string{
	"POST /api/runs", "GET /api/runs", "GET /api/runs/{id}", "GET /api/runs/{id}/report", "POST /api/runs/{id}/cancel",
	"POST /api/runs/{id}/resume", "POST /api/runs/{id}/evaluate", "GET /ws/runs/{id}", "GET /api/models", "POST /api/models/{id}/activate",
	"POST /api/logout", "POST /api/logout-all",
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		auth.Error(w, http.StatusBadRequest, "id: want a positive integer")
		return 0, false
	}
	return id, true
}

// runError maps the run manager's errors onto statuses.
func runError(w http.ResponseWriter, err error) {
	var ve runs.ValidationError
	var se *runs.StateError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"message": ve.Error(), "type": "bad_request", "fields": []runs.FieldError(ve)}})
	case errors.As(err, &se):
		auth.Error(w, http.StatusConflict, se.Msg)
	case errors.Is(err, runs.ErrQueueFull):
		w.Header().Set("Retry-After", "60")
		auth.Error(w, http.StatusTooManyRequests, err.Error())
	case errors.Is(err, runs.ErrNotFound):
		auth.Error(w, http.StatusNotFound, "no such run or model")
	default:
		auth.Error(w, http.StatusInternalServerError, err.Error())
	}
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request) {
	var cfg runs.Config
	if err := decodeJSON(r, &cfg); err != nil {
		if tooLarge(err) {
			auth.Error(w, http.StatusRequestEntityTooLarge, "body: over the size limit")
			return
		}
		auth.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	run, err := s.opt.Runs.Submit(cfg)
	if err != nil {
		runError(w, err)
		return
	}
	s.log.Info("run queued", "run", run.ID)
	w.Header().Set("Location", "/api/runs/"+strconv.FormatInt(run.ID, 10))
	writeJSON(w, http.StatusCreated, run)
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	list, err := s.opt.Runs.List()
	if err != nil {
		runError(w, err)
		return
	}
	if list == nil {
		list = []runs.Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": list})
}

// getRun answers the run with its events (after ?after=SEQ, for polling clients), metrics,
// checkpoints and models.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	d, err := s.opt.Runs.Detail(id, after)
	if err != nil {
		runError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// runReport answers the run's evaluation report (report.json of `trainer eval`) as written.
func (s *Server) runReport(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	b, err := s.opt.Runs.Report(id)
	if err != nil {
		runError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := s.opt.Runs.Cancel(id); err != nil {
		runError(w, err)
		return
	}
	s.log.Info("run cancel requested", "run", id)
	writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "status": "cancelling"})
}

func (s *Server) resumeRun(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := s.opt.Runs.Resume(id); err != nil {
		runError(w, err)
		return
	}
	s.log.Info("run resumed", "run", id)
	writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "status": runs.StatusQueued})
}

// evaluateRun queues a succeeded run's evaluate stage on its own.
func (s *Server) evaluateRun(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := s.opt.Runs.Evaluate(id); err != nil {
		runError(w, err)
		return
	}
	s.log.Info("run evaluation queued", "run", id)
	writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "status": runs.StatusQueued})
}

func (s *Server) listRunModels(w http.ResponseWriter, r *http.Request) {
	models, err := s.opt.Runs.Models()
	if err != nil {
		runError(w, err)
		return
	}
	if models == nil {
		models = []runs.Model{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": models, "serving": s.opt.Engine.Stats().Model})
}

// activateModel loads a run's model and swaps the engine to it: streams in flight finish on
// the old model, new requests get the new one.
func (s *Server) activateModel(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	m, err := s.opt.Runs.Model(id)
	if err != nil {
		runError(w, err)
		return
	}
	if s.opt.LoadModel == nil {
		auth.Error(w, http.StatusNotImplemented, "this server has no model loader")
		return
	}
	http.NewResponseController(w).SetWriteDeadline(time.Time{}) // loading may take a while
	t0 := time.Now()
	b, err := s.opt.LoadModel(r.Context(), m.Name(), m.Path, m.Adapter)
	if err != nil {
		s.log.Error("model load failed", "model", id, "err", err)
		auth.Error(w, http.StatusUnprocessableEntity, "loading "+m.Path+": "+err.Error())
		return
	}
	s.opt.Engine.Swap(b)
	if err := s.opt.Runs.SetActive(id); err != nil {
		s.log.Error("recording the active model", "err", err)
	}
	s.log.Info("model activated", "model", m.Name(), "path", m.Path, "adapter", m.Adapter, "load_ms", time.Since(t0).Milliseconds())
	writeJSON(w, http.StatusOK, map[string]any{"serving": b.Name, "model": m})
}

// runSocket streams a run's events: all stored ones first, then live ones as the trainer
// prints them. The client only listens; it closes the socket when done.
func (s *Server) runSocket(w http.ResponseWriter, r *http.Request) {
	if !auth.SameOrigin(r, s.opt.AllowedOrigins) {
		auth.Error(w, http.StatusForbidden, "cross-origin websocket refused")
		return
	}
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	backlog, live, stop, err := s.opt.Runs.Subscribe(id)
	if err != nil {
		runError(w, err)
		return
	}
	defer stop()
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return auth.SameOrigin(r, s.opt.AllowedOrigins) }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.sockets.Add(1)
	defer s.sockets.Done()
	defer conn.Close()

	pongWait := s.opt.PingEvery * 5 / 2
	conn.SetReadLimit(4096)
	conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	gone := make(chan struct{})
	go func() { // reads only to see pongs and the close
		defer close(gone)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	send := func(ev runspec.Record) bool {
		conn.SetWriteDeadline(time.Now().Add(s.opt.WriteWait))
		b, _ := json.Marshal(ev)
		return conn.WriteMessage(websocket.TextMessage, b) == nil
	}
	var last int64
	for _, ev := range backlog {
		if !send(ev) {
			return
		}
		last = ev.Seq
	}
	ping := time.NewTicker(s.opt.PingEvery)
	defer ping.Stop()
	for {
		select {
		case ev, ok := <-live:
			if !ok { // fell behind; the client reconnects and gets the backlog again
				s.goAway(conn)
				return
			}
			if ev.Seq <= last {
				continue
			}
			if !send(ev) {
				return
			}
			last = ev.Seq
		case <-ping.C:
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.opt.WriteWait)) != nil {
				return
			}
		case <-gone:
			return
		case <-s.drain:
			s.goAway(conn)
			return
		}
	}
}
