package safetensors

import (
	"bytes"
	"testing"
)

// FuzzParse: any bytes give a file or an error naming it, never a panic or a read outside
// the buffer; every tensor of an accepted file lies inside it with the size its shape says.
func FuzzParse(f *testing.F) {
	var good bytes.Buffer
	if err := Encode(&good, []Tensor{
		{Name: "a", DType: F32, Shape: []int64{2, 2}, Data: make([]byte, 16)},
		{Name: "b", DType: BF16, Shape: []int64{3}, Data: make([]byte, 6)},
	}, map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:20])
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\x7f{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.safetensors", data)
		if err != nil {
			return
		}
		for _, name := range file.Names() {
			tn, err := file.Tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			size, _ := tn.DType.Size()
			if int64(len(tn.Data)) != tn.Numel()*int64(size) || tn.Offset < 0 || tn.Offset+int64(len(tn.Data)) > int64(len(data)) {
				t.Fatalf("tensor %q: %d bytes at %d for shape %v %s in a %d-byte file", name, len(tn.Data), tn.Offset, tn.Shape, tn.DType, len(data))
			}
		}
	})
}
