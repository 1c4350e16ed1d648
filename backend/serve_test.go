//go:build e2e || soak

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// proc is a real server process: this test binary running main's run (see serveEnv).
type proc struct {
	cmd *exec.Cmd
	url string
	mu  sync.Mutex
	log bytes.Buffer // its stderr
}

// startServer runs the server with args (plus --addr on a free loopback port) and waits
// until it serves. The process is killed at the end of the test if still running.
func startServer(t testing.TB, args ...string) *proc {
	t.Helper()
	a, _ := json.Marshal(append([]string{"--addr", "127.0.0.1:0"}, args...))
	s := &proc{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	s.cmd.Env = append(os.Environ(), serveEnv+"="+string(a), "MEDQA_ADMIN_PASSWORD="+testPassword, "OMP_WAIT_POLICY=passive")
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if i := strings.Index(line, " at http://"); i >= 0 && strings.HasPrefix(line, "medqa is serving") {
				ready <- line[i+4:]
			}
		}
		close(ready)
	}()
	select {
	case u, ok := <-ready:
		if !ok {
			t.Fatalf("server exited before serving:\n%s", s.stderr())
		}
		s.url = u
	case <-time.After(2 * time.Minute):
		t.Fatalf("server not serving after 2 min:\n%s", s.stderr())
	}
	return s
}

func (s *proc) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// call sends a JSON request with a bearer token and decodes the JSON answer into out.
func (s *proc) call(t testing.TB, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// login returns a bearer token.
func (s *proc) login(t testing.TB) string {
	t.Helper()
	var l struct{ Token string }
	if code := s.call(t, "POST", "/api/login", "", map[string]any{"password": testPassword, "bearer": true}, &l); code != 200 {
		t.Fatalf("login: %d", code)
	}
	return l.Token
}
