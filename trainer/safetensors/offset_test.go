package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Offset locates a tensor's bytes in the file, for loaders that read with ReadAt.
func TestOffsetLocatesData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	ts := []Tensor{{Name: "b", DType: U8, Shape: []int64{3}, Data: []byte{7, 8, 9}},
		{Name: "a", DType: F32, Shape: []int64{2}, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}}}
	if err := Write(path, ts, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range f.Names() {
		got, _ := f.Tensor(n)
		if !bytes.Equal(raw[got.Offset:got.Offset+int64(len(got.Data))], got.Data) {
			t.Errorf("tensor %q: bytes at offset %d differ from its data", n, got.Offset)
		}
	}
}
