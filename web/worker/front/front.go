// Package front is what medqa's Cloudflare Workers front runs: it renders the same pages as the server
// (package web) and forwards /api/ and /v1/ to the backend. main.go (GOOS=js) serves it through
// github.com/syumai/workers; entry.mjs forwards websockets (/ws/…) itself, because a Go handler
// cannot hand a WebSocket pair back to the Workers runtime; Cloudflare's static assets serve
// /static/ and /wasm/ before the Go code runs (see wrangler.toml and `make worker`).
package front

import (
	"net/http"
	"net/http/httputil"
	"net/url"

	"medqa/web"
)

// Front returns the worker's handler for a backend at base, reached through rt (Cloudflare's
// fetch in the worker, an ordinary transport in tests).
func Front(base *url.URL, rt http.RoundTripper) http.Handler {
	remote := &Remote{Base: base, Client: &http.Client{Transport: rt}}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(base)
			r.SetXForwarded()
			sameOrigin(r, base)
		},
		Transport:     rt,
		FlushInterval: -1, // server-sent events (/v1 stream: true) go out as they come
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", proxy)
	mux.Handle("/v1/", proxy)
	mux.Handle("/", web.New(web.Deps{Auth: remote, Runs: remote}))
	return remote.withCookies(mux)
}

// sameOrigin translates a same-origin request's Origin to the backend's own, so that the
// backend's Origin checks accept what the browser sent to the worker. A foreign Origin passes
// unchanged, and the backend refuses it as it would anyway.
func sameOrigin(r *httputil.ProxyRequest, base *url.URL) {
	origin := r.In.Header.Get("Origin")
	if origin == "" {
		return
	}
	scheme := "https"
	if r.In.TLS == nil && r.In.URL.Scheme != "https" && r.In.Header.Get("X-Forwarded-Proto") != "https" {
		scheme = "http"
	}
	if origin == scheme+"://"+r.In.Host {
		r.Out.Header.Set("Origin", base.Scheme+"://"+base.Host)
	}
}
