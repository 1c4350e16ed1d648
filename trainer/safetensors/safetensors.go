// Package safetensors reads and writes Hugging Face's safetensors format:
// an 8-byte little-endian header length, a JSON header mapping tensor names to
// {dtype, shape, data_offsets}, then the raw little-endian tensor bytes.
//
// Reading is strict: the header must lie inside the file, every dtype must be
// known, shape × element size must equal the byte range, and the ranges must tile
// the data area exactly (no overlaps, gaps or trailing bytes). Every error names
// the file and, where there is one, the tensor.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"unicode/utf8"
)

// DType is a safetensors element type name.
type DType string

const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	BOOL DType = "BOOL"
)

var dtypeSizes = map[DType]int{F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
	"U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}

// Size is the element size in bytes; ok is false for unknown dtypes.
func (d DType) Size() (n int, ok bool) {
	n, ok = dtypeSizes[d]
	return n, ok
}

// Tensor is one named tensor. Data read from a File aliases the file's memory:
// copy it if it must outlive File.Close.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64
	Data  []byte
	// Offset is where Data starts in the file image (0 for tensors to write):
	// loaders read large tensors with ReadAt instead of touching the map,
	// so that the mapped pages do not add to the process's memory.
	Offset int64
}

// maxHeader is the reference implementation's limit; larger headers are refused
// before any allocation.
const maxHeader = 100 << 20

// Numel is the element count (1 for a scalar).
func (t Tensor) Numel() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// byteLen checks the shape and returns the number of bytes it needs.
func byteLen(name string, dt DType, shape []int64) (uint64, error) {
	size, ok := dt.Size()
	if !ok {
		return 0, fmt.Errorf("tensor %q: unknown dtype %q", name, dt)
	}
	n := uint64(size)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor %q: negative dimension in shape %v", name, shape)
		}
		if d != 0 && n > math.MaxInt64/uint64(d) {
			return 0, fmt.Errorf("tensor %q: shape %v overflows", name, shape)
		}
		n *= uint64(d)
	}
	return n, nil
}

type entry struct {
	DType       DType    `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// parse validates a whole file image and returns its tensors (sorted by offset)
// and metadata. Tensor.Data aliases buf.
func parse(buf []byte) ([]Tensor, map[string]string, error) {
	if len(buf) < 8 {
		return nil, nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", len(buf))
	}
	n := binary.LittleEndian.Uint64(buf)
	if n > maxHeader {
		return nil, nil, fmt.Errorf("header length %d exceeds the %d-byte limit", n, maxHeader)
	}
	if n > uint64(len(buf)-8) {
		return nil, nil, fmt.Errorf("header length %d runs past the end of the %d-byte file", n, len(buf))
	}
	header, data := buf[8:8+n], buf[8+n:]
	if !utf8.Valid(header) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	if len(bytes.TrimSpace(header)) == 0 || bytes.TrimLeft(header, " \t\r\n")[0] != '{' {
		return nil, nil, errors.New("header is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("header: %v", err)
	}
	var meta map[string]string
	var ts []Tensor
	begins := map[string]uint64{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("header: %v", err)
		}
		name := tok.(string)
		if seen[name] {
			return nil, nil, fmt.Errorf("header: tensor %q appears twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("header: entry %q: %v", name, err)
		}
		if name == "__metadata__" {
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, nil, fmt.Errorf("header: __metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var e entry
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("header: tensor %q: %v", name, err)
		}
		if e.DType == "" || e.Shape == nil || len(e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("header: tensor %q needs dtype, shape and two data_offsets", name)
		}
		want, err := byteLen(name, e.DType, e.Shape)
		if err != nil {
			return nil, nil, err
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin > end || end > uint64(len(data)) {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets [%d,%d] outside the %d-byte data area", name, begin, end, len(data))
		}
		if end-begin != want {
			return nil, nil, fmt.Errorf("tensor %q: %v of shape %v needs %d bytes, data_offsets give %d", name, e.DType, e.Shape, want, end-begin)
		}
		ts = append(ts, Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: data[begin:end:end], Offset: int64(8 + n + begin)})
		begins[name] = begin
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("header: %v", err)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) != 0 {
		return nil, nil, errors.New("header: trailing bytes after the JSON object")
	}
	// The byte ranges must tile the data area: sort by offset and walk it.
	sort.SliceStable(ts, func(i, j int) bool { return begins[ts[i].Name] < begins[ts[j].Name] })
	pos := uint64(0)
	for i, t := range ts {
		switch b := begins[t.Name]; {
		case b < pos:
			return nil, nil, fmt.Errorf("tensor %q overlaps tensor %q", t.Name, ts[i-1].Name)
		case b > pos:
			return nil, nil, fmt.Errorf("tensor %q: %d unused bytes before it", t.Name, b-pos)
		}
		pos += uint64(len(t.Data))
	}
	if pos != uint64(len(data)) {
		return nil, nil, fmt.Errorf("%d bytes after the last tensor are not described by the header", uint64(len(data))-pos)
	}
	return ts, meta, nil
}

// Encode validates tensors and writes the file image to w: the header lists the
// tensors sorted by name, padded with spaces to 8 bytes.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	ts := append([]Tensor(nil), tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata)
		if err != nil {
			return err
		}
		hdr.WriteString(`"__metadata__":`)
		hdr.Write(m)
	}
	var off uint64
	for i, t := range ts {
		if t.Name == "" || t.Name == "__metadata__" {
			return fmt.Errorf("invalid tensor name %q", t.Name)
		}
		if i > 0 && ts[i-1].Name == t.Name {
			return fmt.Errorf("tensor %q given twice", t.Name)
		}
		n, err := byteLen(t.Name, t.DType, t.Shape)
		if err != nil {
			return err
		}
		if n != uint64(len(t.Data)) {
			return fmt.Errorf("tensor %q: %v of shape %v needs %d bytes, got %d", t.Name, t.DType, t.Shape, n, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		e, _ := json.Marshal(entry{DType: t.DType, Shape: shape, DataOffsets: []uint64{off, off + n}})
		k, _ := json.Marshal(t.Name)
		if hdr.Len() > 1 {
			hdr.WriteByte(',')
		}
		hdr.Write(k)
		hdr.WriteByte(':')
		hdr.Write(e)
		off += n
	}
	hdr.WriteByte('}')
	for (8+hdr.Len())%8 != 0 {
		hdr.WriteByte(' ')
	}
	var lenbuf [8]byte
	binary.LittleEndian.PutUint64(lenbuf[:], uint64(hdr.Len()))
	if _, err := w.Write(lenbuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	for _, t := range ts {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}
