package auth

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limiter is a token bucket per client key: Burst requests at once, refilled at Rate per
// second.
type Limiter struct {
	Rate  float64
	Burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
	now     func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a limiter allowing burst requests at once and rate per second after.
func NewLimiter(rate float64, burst int) *Limiter {
	return &Limiter{Rate: rate, Burst: burst, buckets: map[string]*bucket{}, now: time.Now}
}

// Allow takes a token for key; when none is left it says how long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.sweep) > time.Minute {
		// Forget clients whose buckets are full again, so the map cannot grow without bound.
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.Rate >= float64(l.Burst) {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(l.Burst), at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(float64(l.Burst), b.tokens+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.Rate * float64(time.Second))
}

// ClientIP is the key rate limits use: the peer's address. Forwarding headers are not
// trusted, since any client can set them.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
