package torch

/*
#include <stdlib.h>
#include "shim/shim.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"unsafe"
)

// DType is a tensor element type; the values are c10::ScalarType's.
type DType int

const (
	Uint8    DType = 0
	Int8     DType = 1
	Int32    DType = 3
	Int64    DType = 4
	Float16  DType = 5
	Float32  DType = 6
	Float64  DType = 7
	Bool     DType = 11
	BFloat16 DType = 15
)

var dtypeNames = map[DType]string{Uint8: "uint8", Int8: "int8", Int32: "int32", Int64: "int64",
	Float16: "float16", Float32: "float32", Float64: "float64", Bool: "bool", BFloat16: "bfloat16"}

func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return "dtype(" + strconv.Itoa(int(d)) + ")"
}

// Size is the number of bytes per element.
func (d DType) Size() int {
	switch d {
	case Uint8, Int8, Bool:
		return 1
	case Float16, BFloat16:
		return 2
	case Int32, Float32:
		return 4
	}
	return 8
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d == Float16 || d == BFloat16 || d == Float32 || d == Float64 }

// ParseDType accepts "f32"/"float32", "bf16"/"bfloat16", "f16"/"float16", "f64"/"float64".
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(s) {
	case "f32", "float32", "float":
		return Float32, nil
	case "bf16", "bfloat16":
		return BFloat16, nil
	case "f16", "float16", "half":
		return Float16, nil
	case "f64", "float64", "double":
		return Float64, nil
	}
	return 0, fmt.Errorf("unknown dtype %q (want f32, bf16, f16 or f64)", s)
}

// Device is CPU or one CUDA device.
type Device int

// CPU is the host; CUDA(i) the i-th GPU.
const CPU Device = -1

func CUDA(i int) Device { return Device(i) }

func (d Device) IsCUDA() bool { return d >= 0 }

func (d Device) String() string {
	if d < 0 {
		return "cpu"
	}
	return "cuda:" + strconv.Itoa(int(d))
}

// ParseDevice accepts "cpu", "cuda", "cuda:N" and "auto" (the first CUDA device when
// libtorch sees one, else the CPU), and refuses a CUDA device this libtorch cannot see, so
// that a wrong --device fails at once with a reason rather than at the first tensor.
func ParseDevice(s string) (Device, error) {
	d := CPU
	switch {
	case s == "auto":
		if CUDADeviceCount() > 0 {
			return CUDA(0), nil
		}
		return CPU, nil
	case s == "cpu":
		return CPU, nil
	case s == "cuda":
		d = CUDA(0)
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(s[5:])
		if err != nil || n < 0 {
			return CPU, fmt.Errorf("unknown device %q (want cpu, cuda, cuda:N or auto)", s)
		}
		d = CUDA(n)
	default:
		return CPU, fmt.Errorf("unknown device %q (want cpu, cuda, cuda:N or auto)", s)
	}
	if n := CUDADeviceCount(); int(d) >= n {
		return CPU, fmt.Errorf("no CUDA device %s: libtorch sees %d (build the shim against a CUDA libtorch: make shim LIBTORCH=<path>)", d, n)
	}
	return d, nil
}

// Tensor is an owned libtorch tensor handle.
type Tensor struct {
	h       C.tt
	cleanup runtime.Cleanup
}

func newTensor(s *Scope, h C.tt) *Tensor {
	t := &Tensor{h: h}
	t.cleanup = runtime.AddCleanup(t, func(h C.tt) { C.tt_free(h) }, h)
	if s != nil {
		s.ts = append(s.ts, t)
	}
	return t
}

// Close frees the tensor now; it is safe to call twice. Views of it stay valid.
func (t *Tensor) Close() {
	if t == nil || t.h == nil {
		return
	}
	t.cleanup.Stop()
	C.tt_free(t.h)
	t.h = nil
}

func (t *Tensor) handle() C.tt {
	if t == nil || t.h == nil {
		panic(&Error{Msg: "use of a nil or closed tensor"})
	}
	return t.h
}

// Scope collects tensors so that one Close frees them all.
type Scope struct{ ts []*Tensor }

// NewScope returns an empty scope: `s := torch.NewScope(); defer s.Close()`.
func NewScope() *Scope { return &Scope{} }

// Close frees every tensor still tracked by the scope.
func (s *Scope) Close() {
	for _, t := range s.ts {
		t.Close()
	}
	s.ts = s.ts[:0]
}

// Keep removes t from the scope, so it outlives Close; the caller now owns it.
func (s *Scope) Keep(t *Tensor) *Tensor {
	for i := len(s.ts) - 1; i >= 0; i-- {
		if s.ts[i] == t {
			s.ts = append(s.ts[:i], s.ts[i+1:]...)
			break
		}
	}
	return t
}

// Track adds t to the scope and returns it.
func (s *Scope) Track(t *Tensor) *Tensor {
	s.ts = append(s.ts, t)
	return t
}

// Len is the number of tensors the scope holds (tests use it to spot leaks).
func (s *Scope) Len() int { return len(s.ts) }

func shapeArg(shape []int64) (*C.int64_t, C.int) {
	if len(shape) == 0 {
		return nil, 0
	}
	return (*C.int64_t)(unsafe.Pointer(&shape[0])), C.int(len(shape))
}

// FromBytes copies raw little-endian element bytes into a new tensor on dev.
func FromBytes(s *Scope, raw []byte, dt DType, shape []int64, dev Device) *Tensor {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	if n*int64(dt.Size()) != int64(len(raw)) {
		panic(&Error{Msg: fmt.Sprintf("FromBytes: %d bytes for shape %v of %v", len(raw), shape, dt)})
	}
	var dummy [8]byte
	p := unsafe.Pointer(&dummy[0])
	if len(raw) > 0 {
		p = unsafe.Pointer(&raw[0])
	}
	sp, nd := shapeArg(shape)
	var h C.tt
	must(C.tt_from_data(p, C.int(dt), sp, nd, C.int(dev), &h))
	runtime.KeepAlive(raw)
	return newTensor(s, h)
}

// Element is a Go type with a tensor dtype.
type Element interface {
	~float32 | ~float64 | ~int64 | ~int32 | ~int8 | ~uint8 | ~bool
}

func dtypeOf[T Element]() DType {
	var z T
	switch any(z).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case int64:
		return Int64
	case int32:
		return Int32
	case int8:
		return Int8
	case uint8:
		return Uint8
	case bool:
		return Bool
	}
	panic("unreachable")
}

// FromSlice copies data into a new tensor of the matching dtype with the given
// shape (a flat vector when shape is empty).
func FromSlice[T Element](s *Scope, data []T, shape ...int64) *Tensor {
	if len(shape) == 0 {
		shape = []int64{int64(len(data))}
	}
	var z T
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), len(data)*int(unsafe.Sizeof(z)))
	return FromBytes(s, raw, dtypeOf[T](), shape, CPU)
}

// ToSlice copies t (converted to T's dtype on the CPU, if needed) into a Go slice.
func ToSlice[T Element](t *Tensor) []T {
	dt := dtypeOf[T]()
	src := t
	if t.DType() != dt || t.Device() != CPU {
		src = t.To(nil, dt, CPU)
		defer src.Close()
	}
	out := make([]T, src.Numel())
	var z T
	var p unsafe.Pointer
	if len(out) > 0 {
		p = unsafe.Pointer(&out[0])
	} else {
		p = unsafe.Pointer(&z)
	}
	must(C.tt_copy_out(src.handle(), p, C.size_t(len(out)*int(unsafe.Sizeof(z)))))
	return out
}

// Bytes copies t's elements (in its own dtype, contiguous, on the CPU) out.
func (t *Tensor) Bytes() []byte {
	out := make([]byte, t.Numel()*int64(t.DType().Size()))
	var dummy [8]byte
	p := unsafe.Pointer(&dummy[0])
	if len(out) > 0 {
		p = unsafe.Pointer(&out[0])
	}
	must(C.tt_copy_out(t.handle(), p, C.size_t(len(out))))
	return out
}

// Data returns t's elements as a slice aliasing its memory, for kernels that
// run outside libtorch: t must be a contiguous CPU tensor of T's dtype, and
// the slice is valid only while t (or a tensor sharing its storage) is open.
func Data[T Element](t *Tensor) []T {
	if dt := dtypeOf[T](); t.DType() != dt {
		panic(&Error{Msg: fmt.Sprintf("Data: tensor is %v, not %v", t.DType(), dt)})
	}
	n := t.Numel()
	if n == 0 {
		return nil
	}
	var p unsafe.Pointer
	must(C.tt_data_ptr(t.handle(), &p))
	return unsafe.Slice((*T)(p), n)
}

// Empty creates an uninitialised tensor.
func Empty(s *Scope, shape []int64, dt DType, dev Device) *Tensor {
	return empty(s, shape, dt, dev, false)
}

// EmptyHugePages creates an uninitialised CPU tensor in memory backed by 2 MiB
// transparent huge pages: large weights streamed once per decoded token read
// faster from it than from 4 KiB pages. Use it for tensors of 2 MiB and more.
func EmptyHugePages(s *Scope, shape []int64, dt DType) *Tensor { return empty(s, shape, dt, CPU, true) }

func empty(s *Scope, shape []int64, dt DType, dev Device, huge bool) *Tensor {
	sp, nd := shapeArg(shape)
	var h C.tt
	must(C.tt_empty(sp, nd, C.int(dt), C.int(dev), cbool(huge), &h))
	return newTensor(s, h)
}

// CopyFromBytes fills t from raw little-endian elements of dtype dt and shape
// (broadcastable to t), converting dtype and device in one copy.
func (t *Tensor) CopyFromBytes(raw []byte, dt DType, shape []int64) {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	if n*int64(dt.Size()) != int64(len(raw)) {
		panic(&Error{Msg: fmt.Sprintf("CopyFromBytes: %d bytes for shape %v of %v", len(raw), shape, dt)})
	}
	var dummy [8]byte
	p := unsafe.Pointer(&dummy[0])
	if len(raw) > 0 {
		p = unsafe.Pointer(&raw[0])
	}
	sp, nd := shapeArg(shape)
	must(C.tt_copy_from(t.handle(), p, C.int(dt), sp, nd))
	runtime.KeepAlive(raw)
}

// Full, Zeros, Ones create filled tensors.
func Full(s *Scope, shape []int64, v float64, dt DType, dev Device) *Tensor {
	sp, nd := shapeArg(shape)
	var h C.tt
	must(C.tt_full(sp, nd, C.double(v), C.int(dt), C.int(dev), &h))
	return newTensor(s, h)
}

func Zeros(s *Scope, shape []int64, dt DType, dev Device) *Tensor { return Full(s, shape, 0, dt, dev) }
func Ones(s *Scope, shape []int64, dt DType, dev Device) *Tensor  { return Full(s, shape, 1, dt, dev) }

// Arange is [start, end) with step.
func Arange(s *Scope, start, end, step float64, dt DType, dev Device) *Tensor {
	var h C.tt
	must(C.tt_arange(C.double(start), C.double(end), C.double(step), C.int(dt), C.int(dev), &h))
	return newTensor(s, h)
}

// Randn draws standard normals from libtorch's generator (see ManualSeed).
func Randn(s *Scope, shape []int64, dt DType, dev Device) *Tensor {
	sp, nd := shapeArg(shape)
	var h C.tt
	must(C.tt_randn(sp, nd, C.int(dt), C.int(dev), &h))
	return newTensor(s, h)
}

// Rand draws uniforms in [0, 1).
func Rand(s *Scope, shape []int64, dt DType, dev Device) *Tensor {
	sp, nd := shapeArg(shape)
	var h C.tt
	must(C.tt_rand(sp, nd, C.int(dt), C.int(dev), &h))
	return newTensor(s, h)
}

// Dim is the number of dimensions.
func (t *Tensor) Dim() int { return int(C.tt_dim(t.handle())) }

// Shape returns the sizes.
func (t *Tensor) Shape() []int64 {
	out := make([]int64, t.Dim())
	if len(out) > 0 {
		C.tt_shape(t.handle(), (*C.int64_t)(unsafe.Pointer(&out[0])))
	}
	return out
}

// Size returns one size; negative dims count from the end.
func (t *Tensor) Size(dim int) int64 {
	s := t.Shape()
	if dim < 0 {
		dim += len(s)
	}
	if dim < 0 || dim >= len(s) {
		panic(&Error{Msg: fmt.Sprintf("dimension %d out of range for shape %v", dim, s)})
	}
	return s[dim]
}

func (t *Tensor) DType() DType   { return DType(C.tt_dtype(t.handle())) }
func (t *Tensor) Device() Device { return Device(C.tt_device(t.handle())) }
func (t *Tensor) Numel() int64   { return int64(C.tt_numel(t.handle())) }
func (t *Tensor) String() string {
	return fmt.Sprintf("Tensor(%v, %v, %v)", t.Shape(), t.DType(), t.Device())
}
func (t *Tensor) Closed() bool       { return t == nil || t.h == nil }
func (t *Tensor) RequiresGrad() bool { return C.tt_requires_grad(t.handle()) != 0 }

// Item returns the single element as float64.
func (t *Tensor) Item() float64 {
	var v C.double
	must(C.tt_item(t.handle(), &v))
	return float64(v)
}
