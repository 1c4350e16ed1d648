package server

import (
	"net"
	"net/http"
	"slices"
	"strings"

	"medqa/backend/auth"
)

// DefaultHosts are the Host names every server answers to (besides its listen host).
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// HostName is a Host header (or an --allowed-hosts entry) reduced to the name compared:
// no port, no IPv6 brackets, lower case.
func HostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

// checkHost refuses requests addressed to a Host the server does not answer to, before
// routing (websocket upgrades included). A DNS-rebinding page reaches the server under
// the attacker's name; its Origin then matches that Host, so only this check stops it.
func (s *Server) checkHost(next http.Handler) http.Handler {
	if slices.Contains(s.opt.AllowedHosts, "*") {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(s.opt.AllowedHosts, HostName(r.Host)) {
			auth.Error(w, http.StatusMisdirectedRequest, "host "+r.Host+" is not served here (see --allowed-hosts)")
			return
		}
		next.ServeHTTP(w, r)
	})
}
