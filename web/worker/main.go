//go:build js && wasm

// Command worker is the Cloudflare Workers entry (built with GOOS=js GOARCH=wasm, see
// `make worker`). The backend's address comes from the MEDQA_BACKEND variable (wrangler.toml
// [vars], or `wrangler dev --var MEDQA_BACKEND:…`).
package main

import (
	"net/http"
	"net/url"
	"syscall/js"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/fetch"

	"medqa/web/worker/front"
)

func main() {
	workers.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The environment exists only inside a request; every request runs a fresh instance
		// of this module anyway, so building the handler here costs nothing extra.
		base, err := url.Parse(cloudflare.Getenv("MEDQA_BACKEND"))
		if err != nil || base.Scheme == "" || base.Host == "" {
			http.Error(w, "medqa worker: MEDQA_BACKEND must be an absolute URL such as https://medqa.example", http.StatusInternalServerError)
			return
		}
		rt := nullBodySafe{fetch.NewClient().HTTPClient(fetch.RedirectModeManual).Transport}
		front.Front(base, rt).ServeHTTP(w, r)
	}))
}

// nullBodySafe works around syumai/workers v0.27.0 reading a fetch Response whose body is null
// (204, 304, HEAD…): its reader calls getReader on null and panics. Such bodies become NoBody.
type nullBodySafe struct{ http.RoundTripper }

func (t nullBodySafe) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.RoundTripper.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if raw, ok := res.Body.(interface{ GetRawJSBody() js.Value }); ok {
		if b := raw.GetRawJSBody(); b.IsNull() || b.IsUndefined() {
			res.Body.Close()
			res.Body = http.NoBody
		}
	}
	return res, nil
}
