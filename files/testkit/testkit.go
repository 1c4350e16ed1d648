// Package testkit is medqa's test support that needs nothing beyond the
// standard library, so that every package's tests may import it, the pure-Go
// wasm/ packages included: waiting for asynchronous conditions, reading the
// gzipped reference files under testdata/, and the tiny Qwen2 shapes the
// model tests share (as config.json data; files/testkit/qwen2test turns them
// into models). The Chromium driver lives apart, in files/testkit/browser,
// for the same reason.
package testkit

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// Poll calls cond until it returns true or timeout has passed, and reports
// whether it did. The interval grows from 1 ms to 50 ms: quick conditions are
// seen at once, slow ones (a browser, a trainer process) are not hammered.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
	}
}

// Eventually fails the test unless cond becomes true within timeout. The
// timeout only guards against hangs: it is never a measurement, so make it
// generous. Use Poll where the failure needs a message of its own.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Read returns a file's bytes, gunzipped when its name ends in .gz.
func Read(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil || !strings.HasSuffix(path, ".gz") {
		return raw, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// ReadFile is Read that fails the test on error.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ReadJSON decodes a JSON file (gzipped when its name ends in .gz) into v.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(ReadFile(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
