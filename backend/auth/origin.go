package auth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// SameOrigin reports whether a browser request comes from this site (Origin's host equals
// the Host it was sent to) or from one of the allowed origins ("https://example.org").
// Requests without Origin come from non-browser clients and pass: cookies are SameSite=Strict
// and state-changing requests also need a CSRF token, so they gain nothing by omitting it.
func SameOrigin(r *http.Request, allowed []string) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.Contains(allowed, strings.ToLower(u.Scheme+"://"+u.Host))
}
