//go:build soak

package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestSoak (make soak): 100 concurrent chat streams from 10 client addresses
// (127.0.0.2–127.0.0.11) for 60 s (MEDQA_SOAK_DURATION overrides) against a real server
// process on the default model, with the server's default limits. Every admitted stream must
// end with its done frame; every refused ask must carry a retry hint (the client waits that
// long and asks again); no stream may be cut; the clients' completed streams may differ by
// at most 2×; the server's RSS must stay flat after warm-up. It prints its figures.
func TestSoak(t *testing.T) {
	const clients, perClient = 10, 10
	dur := 60 * time.Second
	if d, err := time.ParseDuration(os.Getenv("MEDQA_SOAK_DURATION")); err == nil {
		dur = d
	}
	srv := startServer(t, "--data", t.TempDir())
	pid := srv.cmd.Process.Pid

	type tally struct {
		done, refused, noHint, cut, tokens int
		refusedBy                          map[string]int
	}
	var mu sync.Mutex
	per := make([]tally, clients)
	for i := range per {
		per[i].refusedBy = map[string]int{}
	}
	var rss []int64
	stopRSS := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopRSS:
				return
			case <-tick.C:
				if kb := rssKB(pid); kb > 0 {
					mu.Lock()
					rss = append(rss, kb)
					mu.Unlock()
				}
			}
		}
	}()

	wsURL := "ws" + strings.TrimPrefix(srv.url, "http") + "/ws/chat"
	end := time.Now().Add(dur)
	var wg sync.WaitGroup
	for c := range clients {
		ip := fmt.Sprintf("127.0.0.%d", c+2)
		for w := range perClient {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := *websocket.DefaultDialer
				d.NetDialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext
				conn, _, err := d.Dial(wsURL, http.Header{"Origin": {srv.url}})
				if err != nil {
					t.Errorf("%s: dial: %v", ip, err)
					return
				}
				defer conn.Close()
				for n := 0; time.Now().Before(end); n++ {
					err := conn.WriteJSON(map[string]any{"type": "ask",
						"messages": []map[string]string{{"role": "user", "content": fmt.Sprintf("Client %s, question %d-%d: what is anemia?", ip, w, n)}},
						"params":   map[string]any{"max_tokens": 24, "temperature": 0}})
					if err != nil {
						t.Errorf("%s: ask: %v", ip, err)
						return
					}
					tokens := 0
					for {
						conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
						var f struct {
							Type, Code  string
							RetryAfterS int `json:"retry_after_s"`
						}
						if err := conn.ReadJSON(&f); err != nil {
							mu.Lock()
							per[c].cut++
							mu.Unlock()
							t.Errorf("%s: stream cut after %d token frames: %v", ip, tokens, err)
							return
						}
						if f.Type == "token" {
							tokens++
							continue
						}
						mu.Lock()
						switch {
						case f.Type == "done":
							per[c].done++
							per[c].tokens += tokens
						case tokens > 0:
							per[c].cut++
							t.Errorf("%s: stream ended with %s/%s after %d token frames", ip, f.Type, f.Code, tokens)
						default:
							per[c].refused++
							per[c].refusedBy[f.Code]++
							if f.RetryAfterS < 1 {
								per[c].noHint++
							}
						}
						mu.Unlock()
						if f.Type != "done" {
							// Wait as told, with jitter so that refused clients do not return in step.
							wait := time.Duration(max(f.RetryAfterS, 1)) * time.Second
							time.Sleep(wait/2 + rand.N(wait))
						}
						break
					}
				}
			}()
		}
	}
	wg.Wait()
	close(stopRSS)

	mu.Lock()
	defer mu.Unlock()
	total, lo, hi := 0, int(^uint(0)>>1), 0
	for c, p := range per {
		t.Logf("client 127.0.0.%d: %d completed (%d token frames), %d refused %v, %d cut", c+2, p.done, p.tokens, p.refused, p.refusedBy, p.cut)
		total += p.done
		lo, hi = min(lo, p.done), max(hi, p.done)
		if p.noHint > 0 {
			t.Errorf("client 127.0.0.%d: %d refusals without a retry hint", c+2, p.noHint)
		}
	}
	t.Logf("%d streams completed in %v (%.1f/s); per client %d..%d", total, dur, float64(total)/dur.Seconds(), lo, hi)
	if lo == 0 || hi > 2*lo {
		t.Errorf("completed per client %d..%d: want within 2x", lo, hi)
	}
	if len(rss) >= 4 {
		warm := rss[len(rss)/4] // after a quarter of the run: model loaded, buffers grown
		peak := warm
		for _, v := range rss[len(rss)/4:] {
			peak = max(peak, v)
		}
		t.Logf("server RSS: %d MiB at start, %d MiB after warm-up, peak %d MiB after, %d MiB at the end", rss[0]>>10, warm>>10, peak>>10, rss[len(rss)-1]>>10)
		if float64(peak) > 1.25*float64(warm) {
			t.Errorf("RSS grew from %d to %d MiB after warm-up", warm>>10, peak>>10)
		}
	} else {
		t.Errorf("only %d RSS samples", len(rss))
	}
}

// rssKB is a process's resident set size in KiB (VmRSS in /proc/PID/status), 0 if unknown.
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
