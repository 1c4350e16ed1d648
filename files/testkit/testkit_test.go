package testkit

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	n := 0
	if !Poll(time.Minute, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("Poll stopped after %d calls, want true at the third", n)
	}
	start := time.Now()
	if Poll(20*time.Millisecond, func() bool { return false }) {
		t.Error("Poll reported a condition that never held")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("Poll gave up after %v, before its timeout", d)
	}
}

func TestReadGunzipsByName(t *testing.T) {
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"a": 1}`))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "v.json.gz"), gz.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "v.json"), []byte(`{"a": 2}`), 0o644)
	for name, want := range map[string]int{"v.json.gz": 1, "v.json": 2} {
		var v struct{ A int }
		ReadJSON(t, filepath.Join(dir, name), &v)
		if v.A != want {
			t.Errorf("%s: a = %d, want %d", name, v.A, want)
		}
	}
	if _, err := Read(filepath.Join(dir, "v.json.gz") + "x"); err == nil {
		t.Error("a missing file read without error")
	}
	os.WriteFile(filepath.Join(dir, "bad.gz"), []byte("not gzip"), 0o644)
	if _, err := Read(filepath.Join(dir, "bad.gz")); err == nil {
		t.Error("a damaged .gz read without error")
	}
}

// Every shape is one qwen2 accepts: head dimension even, heads a multiple
// of the key-value heads (qwen2test parses them; this checks without libtorch).
func TestShapesAreQwen2Shapes(t *testing.T) {
	for name, s := range map[string]Shape{"Toy": Toy, "QwenVocab": QwenVocab, "Small": Small, "Qwen25": Qwen25} {
		if s.Hidden%s.Heads != 0 || (s.Hidden/s.Heads)%2 != 0 || s.Heads%s.KVHeads != 0 {
			t.Errorf("%s: hidden %d, %d heads, %d KV heads", name, s.Hidden, s.Heads, s.KVHeads)
		}
	}
}
