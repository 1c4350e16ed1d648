package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"medqa/trainer/safetensors"
)

// Write a file, read it back, and see what the header holds: tensors sorted by
// name, each with its dtype, shape and byte range, padded with spaces to a
// multiple of 8 bytes. Names lists the tensors in file order.
func Example() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	w := make([]byte, 0, 24)
	for _, v := range []float32{1, -2, 0.5, 3, 4, 5} {
		w = binary.LittleEndian.AppendUint32(w, math.Float32bits(v))
	}
	err = safetensors.Write(path, []safetensors.Tensor{
		{Name: "w", DType: safetensors.F32, Shape: []int64{2, 3}, Data: w},
		{Name: "b", DType: safetensors.I8, Shape: []int64{2}, Data: []byte{7, 0xff}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		panic(err)
	}

	f, err := safetensors.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fmt.Println(f.Names(), f.Metadata)
	t, err := f.Tensor("w")
	if err != nil {
		panic(err)
	}
	fmt.Println(t.DType, t.Shape, t.Numel(), bytes.Equal(t.Data, w))

	raw, _ := os.ReadFile(path)
	n := binary.LittleEndian.Uint64(raw)
	fmt.Printf("%d-byte header: %s\n", n, bytes.TrimRight(raw[8:8+n], " "))
	// Output:
	// [b w] map[format:pt]
	// F32 [2 3] 6 true
	// 144-byte header: {"__metadata__":{"format":"pt"},"b":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[2,26]}}
}

// Reading is strict: a header that promises more bytes than a tensor has is
// refused with the tensor named.
func ExampleParse() {
	var buf bytes.Buffer
	err := safetensors.Encode(&buf, []safetensors.Tensor{
		{Name: "x", DType: safetensors.F32, Shape: []int64{2}, Data: make([]byte, 8)},
	}, nil)
	if err != nil {
		panic(err)
	}
	img := buf.Bytes()
	img = bytes.Replace(img, []byte(`"shape":[2]`), []byte(`"shape":[3]`), 1)
	_, err = safetensors.Parse("bad.safetensors", img)
	fmt.Println(err)
	// Output:
	// safetensors bad.safetensors: tensor "x": F32 of shape [3] needs 12 bytes, data_offsets give 8
}
