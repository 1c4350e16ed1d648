// Package gguf writes Qwen2 models as GGUF v3 files that llama.cpp and Ollama
// load with their "qwen2" architecture: the tensor names and metadata keys of
// llama.cpp's convert_hf_to_gguf.py, the GPT-2 byte-level BPE tokenizer with
// the "qwen2" pre-tokenizer, and F32, F16, Q8_0 or Q4_0 tensor data.
//
// File layout (all little-endian): magic "GGUF", version 3, tensor count and
// metadata count (u64); metadata key/value pairs; tensor infos (name, dims
// with the fastest-varying first, so PyTorch's [out,in] is written [in,out],
// ggml type, offset from the start of the data section); padding to the
// alignment; the tensor data, each tensor starting at a multiple of the
// alignment (32).
package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Alignment is general.alignment, written explicitly.
const Alignment = 32

// Type is a ggml tensor type.
type Type uint32

const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q8_0 Type = 8
)

func (t Type) String() string {
	switch t {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case Q4_0:
		return "Q4_0"
	case Q8_0:
		return "Q8_0"
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// rowBytes is the storage size of n elements of type t.
func (t Type) rowBytes(n int64) int64 {
	switch t {
	case F32:
		return 4 * n
	case F16:
		return 2 * n
	case Q4_0:
		return n / QK4_0 * blockQ4_0
	case Q8_0:
		return n / QK8_0 * blockQ8_0
	}
	panic("unknown ggml type")
}

// Metadata value types.
const (
	tUint8   uint32 = 0
	tInt32   uint32 = 5
	tUint32  uint32 = 4
	tFloat32 uint32 = 6
	tBool    uint32 = 7
	tString  uint32 = 8
	tArray   uint32 = 9
)

// KV is one metadata pair; Value is uint32, int32, float32, bool, string,
// []string or []int32.
type KV struct {
	Key   string
	Value any
}

// Tensor is one tensor to write: Shape in PyTorch order (slowest first),
// Data its encoded bytes in Type, produced when the writer reaches it.
type Tensor struct {
	Name  string
	Shape []int64
	Type  Type
	Data  func() ([]byte, error)
}

func (t Tensor) size() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return t.Type.rowBytes(n)
}

type encoder struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (e *encoder) write(b []byte) {
	if e.err != nil {
		return
	}
	var k int
	k, e.err = e.w.Write(b)
	e.n += int64(k)
}

func (e *encoder) u32(v uint32) { e.write(binary.LittleEndian.AppendUint32(nil, v)) }
func (e *encoder) u64(v uint64) { e.write(binary.LittleEndian.AppendUint64(nil, v)) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.write([]byte(s)) }
func (e *encoder) pad() {
	if r := e.n % Alignment; r != 0 {
		e.write(make([]byte, Alignment-r))
	}
}

func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case uint32:
		e.u32(tUint32)
		e.u32(x)
	case int32:
		e.u32(tInt32)
		e.u32(uint32(x))
	case float32:
		e.u32(tFloat32)
		e.u32(math.Float32bits(x))
	case bool:
		e.u32(tBool)
		b := byte(0)
		if x {
			b = 1
		}
		e.write([]byte{b})
	case string:
		e.u32(tString)
		e.str(x)
	case []string:
		e.u32(tArray)
		e.u32(tString)
		e.u64(uint64(len(x)))
		for _, s := range x {
			e.str(s)
		}
	case []int32:
		e.u32(tArray)
		e.u32(tInt32)
		e.u64(uint64(len(x)))
		buf := make([]byte, 4*len(x))
		for i, v := range x {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(v))
		}
		e.write(buf)
	default:
		return fmt.Errorf("gguf: metadata value of type %T", v)
	}
	return nil
}

// Write encodes a whole GGUF v3 file to w.
func Write(w io.Writer, kvs []KV, tensors []Tensor) error {
	e := &encoder{w: bufio.NewWriterSize(w, 1<<20)}
	e.write([]byte("GGUF"))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		if err := e.value(kv.Value); err != nil {
			return fmt.Errorf("%s: %w", kv.Key, err)
		}
	}
	var off int64
	for _, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for i := len(t.Shape) - 1; i >= 0; i-- { // ggml's ne[0] is the innermost dimension
			e.u64(uint64(t.Shape[i]))
		}
		e.u32(uint32(t.Type))
		e.u64(uint64(off))
		off += t.size()
		off = (off + Alignment - 1) / Alignment * Alignment
	}
	e.pad()
	for _, t := range tensors {
		data, err := t.Data()
		if err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if int64(len(data)) != t.size() {
			return fmt.Errorf("tensor %q: %d bytes of %v data for shape %v, want %d", t.Name, len(data), t.Type, t.Shape, t.size())
		}
		e.write(data)
		e.pad()
	}
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}
