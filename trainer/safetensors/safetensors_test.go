package safetensors

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medqa/files/testkit"
)

func image(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	return append(append(b, header...), data...)
}

func sample() []Tensor {
	f32 := make([]byte, 2*3*4)
	for i := range f32 {
		f32[i] = byte(i * 7)
	}
	return []Tensor{
		{Name: "w", DType: F32, Shape: []int64{2, 3}, Data: f32},
		{Name: "b.bf16", DType: BF16, Shape: []int64{3}, Data: []byte{1, 2, 3, 4, 5, 6}},
		{Name: "ids", DType: I64, Shape: []int64{1}, Data: []byte{9, 0, 0, 0, 0, 0, 0, 0x80}},
		{Name: "scalar", DType: I8, Shape: []int64{}, Data: []byte{0xff}},
		{Name: "empty", DType: F16, Shape: []int64{0, 4}, Data: []byte{}},
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	meta := map[string]string{"format": "pt"}
	if err := Write(path, sample(), meta); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if n := binary.LittleEndian.Uint64(raw); (8+n)%8 != 0 {
		t.Fatalf("header length %d leaves the data unaligned", n)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata["format"] != "pt" {
		t.Fatalf("metadata %v", f.Metadata)
	}
	if got := strings.Join(f.Names(), ","); got != "b.bf16,empty,ids,scalar,w" {
		t.Fatalf("names %s", got)
	}
	for _, want := range sample() {
		got, err := f.Tensor(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != want.DType || !bytes.Equal(got.Data, want.Data) || len(got.Shape) != len(want.Shape) {
			t.Fatalf("%s: got %+v want %+v", want.Name, got, want)
		}
		for i := range want.Shape {
			if got.Shape[i] != want.Shape[i] {
				t.Fatalf("%s: shape %v want %v", want.Name, got.Shape, want.Shape)
			}
		}
	}
	if _, err := f.Tensor("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("missing tensor error: %v", err)
	}
	// Writing what we read gives the same bytes (deterministic layout).
	var again bytes.Buffer
	var ts []Tensor
	for _, n := range f.Names() {
		x, _ := f.Tensor(n)
		ts = append(ts, x)
	}
	if err := Encode(&again, ts, f.Metadata); err != nil || !bytes.Equal(again.Bytes(), raw) {
		t.Fatalf("re-encoding differs (err %v)", err)
	}
}

// The tiny Qwen2 checkpoint was written by Python's safetensors: an independent producer.
func TestReadsHuggingFaceFile(t *testing.T) {
	f, err := Open(filepath.Join(testkit.TinyQwen2(t), "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := len(f.Names()); n != 27 {
		t.Fatalf("%d tensors, want 27", n)
	}
	q, err := f.Tensor("model.layers.1.self_attn.k_proj.weight")
	if err != nil || q.DType != F32 || len(q.Shape) != 2 || q.Shape[0] != 4 || q.Shape[1] != 8 || len(q.Data) != 128 {
		t.Fatalf("k_proj: %+v %v", q.Shape, err)
	}
}

func TestCorruptFilesGiveClearErrors(t *testing.T) {
	d8 := make([]byte, 8)
	cases := []struct {
		name string
		buf  []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "too short"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 1000), "{}"...), "runs past the end"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds"},
		{"not json", image("[1,2]", nil), "not a JSON object"},
		{"bad json", image(`{"a":`, nil), "header"},
		{"unknown dtype", image(`{"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}`, d8), `tensor "a": unknown dtype "F7"`},
		{"size mismatch", image(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, d8), `tensor "a": F32 of shape [3] needs 12 bytes, data_offsets give 8`},
		{"out of range", image(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, d8), `tensor "a": data_offsets [0,16] outside`},
		{"reversed", image(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}}`, d8), `tensor "a": data_offsets [8,0]`},
		{"overlap", image(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), `tensor "b" overlaps tensor "a"`},
		{"gap", image(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), `tensor "a": 4 unused bytes`},
		{"trailing", image(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, d8), "4 bytes after the last tensor"},
		{"duplicate", image(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), `tensor "a" appears twice`},
		{"missing field", image(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, d8), `tensor "a" needs dtype, shape`},
		{"unknown field", image(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, d8), `tensor "a": json: unknown field "x"`},
		{"negative dim", image(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, d8), `tensor "a": negative dimension`},
		{"bad metadata", image(`{"__metadata__":{"k":1}}`, nil), "__metadata__"},
		{"trailing json", image(`{} {}`, nil), "trailing bytes"},
	}
	for _, c := range cases {
		_, err := Parse("bad.safetensors", c.buf)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.safetensors") {
			t.Errorf("%s: got %v, want an error containing %q and the file name", c.name, err, c.want)
		}
	}
}

func TestWriteRejectsBadTensorsAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := Write(path, sample(), nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	bad := []Tensor{{Name: "w", DType: F32, Shape: []int64{2}, Data: make([]byte, 7)}}
	if err := Write(path, bad, nil); err == nil || !strings.Contains(err.Error(), `tensor "w"`) {
		t.Fatalf("want an error naming w, got %v", err)
	}
	dup := []Tensor{{Name: "a", DType: U8, Shape: []int64{1}, Data: []byte{1}}, {Name: "a", DType: U8, Shape: []int64{1}, Data: []byte{2}}}
	if err := Write(path, dup, nil); err == nil || !strings.Contains(err.Error(), `"a" given twice`) {
		t.Fatalf("duplicate: %v", err)
	}
	after, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(dir)
	if !bytes.Equal(before, after) || len(entries) != 1 {
		t.Fatalf("a failed write changed the file or left %d entries", len(entries))
	}
}

func TestShardedDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDir(dir, sample(), nil, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); err != nil {
		t.Fatal("no index written")
	}
	set, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range sample() {
		got, err := set.Tensor(want.Name)
		if err != nil || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("%s: %v", want.Name, err)
		}
	}
	set.Close()

	single := t.TempDir()
	if err := WriteDir(single, sample(), nil, 0); err != nil {
		t.Fatal(err)
	}
	set, err = OpenDir(single)
	if err != nil || len(set.Names()) != 5 {
		t.Fatalf("single file: %v", err)
	}
	set.Close()
	if _, err := OpenDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no model.safetensors") {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestShardedIndexMismatches(t *testing.T) {
	write := func(weightMap string) string {
		dir := t.TempDir()
		if err := Write(filepath.Join(dir, "s1.safetensors"), sample()[:2], nil); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, IndexFile), []byte(`{"metadata":{},"weight_map":`+weightMap+`}`), 0o644)
		return dir
	}
	cases := []struct{ weightMap, want string }{
		{`{"w":"s1.safetensors","b.bf16":"s1.safetensors","x":"s1.safetensors"}`, `tensor "x" is indexed in s1.safetensors, which does not contain it`},
		{`{"w":"s1.safetensors"}`, `tensor "b.bf16" in shard s1.safetensors is not indexed`},
		{`{"w":"../s1.safetensors"}`, "not a file name"},
		{`{"w":"s2.safetensors"}`, "s2.safetensors"},
		{`{}`, "weight_map is missing"},
	}
	for _, c := range cases {
		_, err := OpenDir(write(c.weightMap))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.weightMap, err, c.want)
		}
	}
}
