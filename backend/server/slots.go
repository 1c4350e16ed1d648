package server

import (
	"errors"
	"sync"
)

var errTooManyStreams = errors.New("this client has as many chat streams open as it may; wait for one to finish")

// clientSlots caps the chat streams one client has at once, waiting and active together, so
// that one client never holds more than max of the engine's queue and batch places however
// fast it asks (the rate limit bounds asks over time, not how many stay open).
type clientSlots struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newClientSlots(max int) *clientSlots { return &clientSlots{max: max, n: map[string]int{}} }

// acquire takes one of key's places; release (safe to call more than once) gives it back.
func (c *clientSlots) acquire(key string) (release func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] >= c.max {
		return func() {}, false
	}
	c.n[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.n[key]--; c.n[key] == 0 {
				delete(c.n, key) // the map holds only clients with open streams
			}
		})
	}, true
}
