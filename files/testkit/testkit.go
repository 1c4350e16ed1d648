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
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"medqa/files"
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

// TinyQwen2 is the miniature Hugging Face Qwen2 checkpoint with transformers'
// reference logits (trainer/qwen2/testdata/tiny-qwen2; provenance in the
// README.md beside it).
func TinyQwen2(t testing.TB) string {
	return filepath.Join(files.RepoRoot(t), "trainer", "qwen2", "testdata", "tiny-qwen2")
}

// ReferenceLogits is tiny-qwen2's reference_logits.json: transformers'
// float64 logits [sequence][position][vocab] for three 16-token sequences.
type ReferenceLogits struct {
	Sequences [][]int64     `json:"sequences"`
	Logits    [][][]float64 `json:"logits"`
}

// TinyQwen2Logits reads tiny-qwen2's reference logits.
func TinyQwen2Logits(t testing.TB) ReferenceLogits {
	var ref ReferenceLogits
	ReadJSON(t, filepath.Join(TinyQwen2(t), "reference_logits.json"), &ref)
	if len(ref.Sequences) != 3 || len(ref.Logits) != 3 || len(ref.Logits[0]) != 16 || len(ref.Logits[0][0]) != 12 {
		t.Fatalf("tiny-qwen2 reference_logits.json: unexpected shape")
	}
	return ref
}

// Python is Debian's interpreter, the one python3-torch installs into.
const Python = "/usr/bin/python3"

// PeerCommand is the command line that runs medqa's PyTorch-eager peer
// (trainer/qwen2/peer/qwen2_peer.py: decode, lora-step and logits modes),
// or an error saying why it cannot run here.
func PeerCommand(t testing.TB) ([]string, error) {
	script := filepath.Join(files.RepoRoot(t), "trainer", "qwen2", "peer", "qwen2_peer.py")
	if _, err := os.Stat(script); err != nil {
		return nil, err
	}
	if out, err := exec.Command(Python, "-c", "import torch").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s cannot import torch (install Debian's python3-torch: make deps-test): %v %s", Python, err, out)
	}
	return []string{Python, script}, nil
}

// Peer is PeerCommand for a test that needs the peer: without python3-torch
// it fails under CI=true (make test installs it) and skips otherwise; the
// script itself is in the repository, so its absence always fails.
func Peer(t testing.TB) []string {
	t.Helper()
	cmd, err := PeerCommand(t)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return cmd
}
