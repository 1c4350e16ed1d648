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
// The API it reads (decoded by web.DecodeRuns, DecodeRunDetail and DecodeReport):
//
//	GET /api/session           {"authenticated": true, "csrf_token": "…"} with a session
//	GET /api/runs              {"runs": [run…]}
//	GET /api/runs/{id}         {"run": run, "events": [event…], "models": [model…]}
//	GET /api/runs/{id}/report  report.json of `trainer eval`
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
	return web.DecodeRuns(raw)
}

func (rm *Remote) GetRun(ctx context.Context, id string) (*web.RunDetail, error) {
	var raw json.RawMessage
	if err := rm.get(ctx, "/api/runs/"+url.PathEscape(id), &raw); err != nil {
		return nil, err
	}
	d, err := web.DecodeRunDetail(raw)
	if err != nil {
		return nil, err
	}
	if rep, err := rm.Report(ctx, id); err == nil { // the evaluation's scores, once there is one
		d.WithReport(rep)
	}
	return d, nil
}

func (rm *Remote) Report(ctx context.Context, id string) (*web.EvalReport, error) {
	var raw json.RawMessage
	if err := rm.get(ctx, "/api/runs/"+url.PathEscape(id)+"/report", &raw); err != nil {
		return nil, err
	}
	return web.DecodeReport(id, raw)
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
