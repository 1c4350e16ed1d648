package front

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"medqa/web"
)

// Remote reads sessions and runs from the backend's API on behalf of the person browsing, by
// forwarding their cookies; it implements web.Auth and web.RunReader for the worker's pages.
//
// The API it reads (JSON names as in package web):
//
//	GET /api/session           200 {"csrf_token": "…"} with a session, 401 without
//	GET /api/runs              [Run…] or {"runs": [Run…]}
//	GET /api/runs/{id}         RunDetail
//	GET /api/runs/{id}/report  EvalReport
type Remote struct {
	Base   *url.URL
	Client *http.Client
}

type cookieKey struct{}

// withCookies keeps the incoming request's Cookie header in its context, where the RunReader
// methods (which only get a context) find it.
func (rm *Remote) withCookies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), cookieKey{}, r.Header.Get("Cookie"))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Session implements web.Auth.
func (rm *Remote) Session(r *http.Request) (string, bool) {
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	if err := rm.get(r.Context(), "/api/session", &s); err != nil || s.CSRF == "" {
		return "", false
	}
	return s.CSRF, true
}

// ListRuns implements web.RunReader.
func (rm *Remote) ListRuns(ctx context.Context) ([]web.Run, error) {
	var raw json.RawMessage
	if err := rm.get(ctx, "/api/runs", &raw); err != nil {
		return nil, err
	}
	var runs []web.Run
	if err := json.Unmarshal(raw, &runs); err == nil {
		return runs, nil
	}
	var wrapped struct {
		Runs []web.Run `json:"runs"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("GET /api/runs: %w", err)
	}
	return wrapped.Runs, nil
}

func (rm *Remote) GetRun(ctx context.Context, id string) (*web.RunDetail, error) {
	var d web.RunDetail
	if err := rm.get(ctx, "/api/runs/"+url.PathEscape(id), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (rm *Remote) Report(ctx context.Context, id string) (*web.EvalReport, error) {
	var r web.EvalReport
	if err := rm.get(ctx, "/api/runs/"+url.PathEscape(id)+"/report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

var errUnauthorized = errors.New("backend: no session")

func (rm *Remote) get(ctx context.Context, path string, into any) error {
	u := rm.Base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if c, _ := ctx.Value(cookieKey{}).(string); c != "" {
		req.Header.Set("Cookie", c)
	}
	req.Header.Set("Accept", "application/json")
	res, err := rm.Client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound:
		return fmt.Errorf("GET %s: %w", path, web.ErrNotFound)
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return errUnauthorized
	case res.StatusCode != http.StatusOK:
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("GET %s: HTTP %d: %s", path, res.StatusCode, msg)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 32<<20)).Decode(into); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}
