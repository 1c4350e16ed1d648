// Package web renders medqa's pages (chat, score tool, admin runs) with templ and serves their
// static assets. The server that mounts it supplies its data through the small interfaces in
// Deps; the pages talk to the server's APIs (/ws/chat, /api/…, /ws/runs/{id}) from JavaScript.
package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/a-h/templ"

	"medqa/assets"
)

// CSP is the Content-Security-Policy the pages are written for: no inline script or style,
// everything same-origin; 'wasm-unsafe-eval' lets the browser compile the medqa wasm module.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

type site struct {
	deps    Deps
	runForm []Field // from the run settings table, which the server validates against
}

// New returns the handler for every page and static asset:
//
//	GET /                      chat
//	GET /score                 score tool
//	GET /admin/login           sign-in page
//	GET /admin, /admin/runs    runs table and start-run form (session required)
//	GET /admin/runs/{id}       run detail with the live loss chart
//	GET /admin/runs/{id}/chart the chart alone (SVG), re-fetched by the run page
//	GET /admin/runs/{id}/report evaluation report
//	GET /static/…, /wasm/…     assets
func New(d Deps) http.Handler {
	if d.Static == nil {
		d.Static = assets.Web
	}
	if d.Chat == (ChatSettings{}) {
		d.Chat = DefaultChatSettings()
	}
	s := &site{deps: d, runForm: DefaultRunForm()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.chat)
	mux.HandleFunc("GET /score", s.score)
	mux.HandleFunc("GET /admin/login", s.login)
	mux.HandleFunc("GET /admin", s.admin(func(w http.ResponseWriter, r *http.Request, _ string) {
		http.Redirect(w, r, "/admin/runs", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /admin/{$}", s.admin(func(w http.ResponseWriter, r *http.Request, _ string) {
		http.Redirect(w, r, "/admin/runs", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /admin/runs", s.admin(s.runs))
	mux.HandleFunc("GET /admin/runs/{id}", s.admin(s.run))
	mux.HandleFunc("GET /admin/runs/{id}/chart", s.admin(s.chart))
	mux.HandleFunc("GET /admin/runs/{id}/report", s.admin(s.report))
	mux.Handle("GET /static/", http.StripPrefix("/static", staticHandler(d.Static)))
	if d.Wasm != nil {
		mux.Handle("GET /wasm/", http.StripPrefix("/wasm", staticHandler(d.Wasm)))
	}
	return securityHeaders(mux)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func (s *site) chat(w http.ResponseWriter, r *http.Request) {
	c := s.deps.Chat
	if s.deps.Serving != nil {
		if name := s.deps.Serving(); name != "" {
			c.Model = name
		}
	}
	s.render(w, r, http.StatusOK, chatPage(c))
}

func (s *site) score(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, scorePage())
}

func (s *site) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if s.deps.Auth != nil {
		if _, ok := s.deps.Auth.Session(r); ok {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	s.render(w, r, http.StatusOK, loginPage(next))
}

// admin guards a page: without a session it sends the browser to the sign-in page (or answers
// 401 to the chart fragment, which scripts fetch).
func (s *site) admin(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.deps.Auth == nil || s.deps.Runs == nil {
			s.fail(w, r, http.StatusServiceUnavailable, "The admin pages are not enabled on this server.")
			return
		}
		csrf, ok := s.deps.Auth.Session(r)
		if !ok {
			if strings.HasSuffix(r.URL.Path, "/chart") {
				http.Error(w, "session required", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, csrf)
	}
}

func (s *site) runs(w http.ResponseWriter, r *http.Request, csrf string) {
	list, err := s.deps.Runs.ListRuns(r.Context())
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, runsPage(csrf, list, s.runForm, DefaultRunPlan()))
}

func (s *site) run(w http.ResponseWriter, r *http.Request, csrf string) {
	d, err := s.deps.Runs.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, runPage(csrf, d))
}

func (s *site) chart(w http.ResponseWriter, r *http.Request, _ string) {
	d, err := s.deps.Runs.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, lossChart(LossChart(d.Events)))
}

func (s *site) report(w http.ResponseWriter, r *http.Request, csrf string) {
	rep, err := s.deps.Runs.Report(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, reportPage(csrf, rep))
}

func (s *site) storeFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "There is no such run, or it has no report yet.")
		return
	}
	slog.ErrorContext(r.Context(), "web: run store", "path", r.URL.Path, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "The run store could not be read; see the server log.")
}

func (s *site) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, errorPage(status, msg))
}

// render writes the whole page or nothing: a template error never leaves half a page behind.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var b strings.Builder
	if err := c.Render(r.Context(), &b); err != nil {
		slog.ErrorContext(r.Context(), "web: render", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// safeNext keeps post-login redirects inside the admin pages (no open redirect).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/runs"
	}
	return next
}
