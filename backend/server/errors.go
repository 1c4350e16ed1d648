package server

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"medqa/backend/engine"
)

// failure is an error as both protocols report it: an HTTP status and a stable code (the
// websocket error frame's "code", the OpenAI error's "type").
type failure struct {
	status int
	code   string
	msg    string
	retry  time.Duration // > 0: when to try again (Retry-After)
}

var (
	errRateLimited = errors.New("too many requests from this client")
	errTooLarge    = errors.New("body: over the size limit")
)

func classify(err error, retry time.Duration) failure {
	var ie *engine.InputError
	switch {
	case errors.As(err, &ie):
		return failure{http.StatusBadRequest, "bad_request", ie.Error(), 0}
	case errors.Is(err, engine.ErrQueueFull):
		return failure{http.StatusTooManyRequests, "queue_full", "the server is busy: queue full, try again shortly", time.Second}
	case errors.Is(err, errTooLarge):
		return failure{http.StatusRequestEntityTooLarge, "body_too_large", err.Error(), 0}
	case errors.Is(err, errTooManyStreams):
		return failure{http.StatusTooManyRequests, "too_many_streams", err.Error(), time.Second}
	case errors.Is(err, errRateLimited):
		return failure{http.StatusTooManyRequests, "rate_limited", err.Error(), retry}
	case errors.Is(err, engine.ErrNoModel):
		return failure{http.StatusServiceUnavailable, "no_model", "no model is loaded", 0}
	case errors.Is(err, engine.ErrClosed):
		return failure{http.StatusServiceUnavailable, "shutting_down", "the server is shutting down", 5 * time.Second}
	default:
		return failure{http.StatusInternalServerError, "internal", err.Error(), 0}
	}
}

func (f failure) retrySeconds() int { return int(math.Ceil(f.retry.Seconds())) }

// writeHTTP answers with the OpenAI error shape: type is OpenAI's class of error (what its
// SDKs and clients switch on), code is medqa's stable code.
func (f failure) writeHTTP(w http.ResponseWriter) {
	if f.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.retrySeconds()))
	}
	writeJSON(w, f.status, map[string]any{"error": map[string]any{"message": f.msg, "type": openAIType(f.status), "param": nil, "code": f.code}})
}

// openAIType is the error type OpenAI's API gives for a status.
func openAIType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// refuse records a refusal and answers it.
func (s *Server) refuse(w http.ResponseWriter, err error, retry time.Duration) {
	f := classify(err, retry)
	s.met.refused.WithLabelValues(f.code).Inc()
	f.writeHTTP(w)
}

// rateLimit takes one ask from the client's budget.
func (s *Server) rateLimit(r *http.Request) (time.Duration, error) {
	if ok, wait := s.opt.ChatLimiter.Allow(clientKey(r)); !ok {
		return wait, errRateLimited
	}
	return 0, nil
}
