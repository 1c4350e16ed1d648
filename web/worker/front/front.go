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
			forwardClient(r)
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
	if origin == scheme(r.In)+"://"+r.In.Host {
		r.Out.Header.Set("Origin", base.Scheme+"://"+base.Host)
	}
}

// scheme is how the visitor reached the worker.
func scheme(in *http.Request) string {
	if in.TLS == nil && in.URL.Scheme != "https" && in.Header.Get("X-Forwarded-Proto") != "https" {
		return "http"
	}
	return "https"
}

// forwardClient tells the backend who the visitor is, in the form it believes from a proxy in
// --trusted-proxies: X-Forwarded-For is the visitor's address alone (Cloudflare's
// CF-Connecting-IP, which the edge sets and visitors cannot; else the peer), so nothing a
// visitor sent in X-Forwarded-For reaches the backend; X-Forwarded-Proto is the visitor's
// scheme, for Secure cookies.
func forwardClient(r *httputil.ProxyRequest) {
	r.SetXForwarded()
	if ip := r.In.Header.Get("CF-Connecting-IP"); ip != "" {
		r.Out.Header.Set("X-Forwarded-For", ip)
	}
	r.Out.Header.Set("X-Forwarded-Proto", scheme(r.In))
}
