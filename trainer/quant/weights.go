package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"medqa/trainer/qwen2"
	"medqa/trainer/safetensors"
)

// Weight is one checkpoint tensor in float32, by its Hugging Face name.
type Weight struct {
	Name  string
	Shape []int64
	Data  []float32
}

// ReadWeights reads a model directory's config.json and every weight its
// Qwen2 config implies, in checkpoint order, as float32: stored F32, BF16,
// F16 or F64 from a Hugging Face directory, dequantized from a medqa
// quantized one. Missing, unexpected or misshapen tensors are errors that
// name the file and tensor.
func ReadWeights(dir string) (qwen2.Config, []Weight, error) {
	c, err := qwen2.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return c, nil, err
	}
	qc, err := ReadConfig(dir)
	if err != nil {
		return c, nil, err
	}
	var ws []Weight
	if qc != nil {
		ws, err = readQuantized(dir, c, *qc)
	} else {
		ws, err = readFloat(dir, c)
	}
	return c, ws, err
}

func readFloat(dir string, c qwen2.Config) ([]Weight, error) {
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer set.Close()
	want := map[string]bool{}
	for _, s := range layout(c) {
		want[s.name] = true
	}
	for _, n := range set.Names() {
		if !want[n] && !ignorable(c, n) {
			return nil, fmt.Errorf("%s: unexpected tensor %q (not part of a Qwen2 model with this config.json)", dir, n)
		}
	}
	var ws []Weight
	for _, s := range layout(c) {
		t, err := set.Tensor(s.name)
		if err != nil {
			return nil, fmt.Errorf("%s: missing tensor %q", dir, s.name)
		}
		if !slices.Equal(t.Shape, s.shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, config.json implies %v", dir, s.name, t.Shape, s.shape)
		}
		data, err := toFloat32(t)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", dir, s.name, err)
		}
		ws = append(ws, Weight{s.name, s.shape, data})
	}
	return ws, nil
}

// toFloat32 decodes a float tensor's little-endian bytes.
func toFloat32(t safetensors.Tensor) ([]float32, error) {
	n := int(t.Numel())
	out := make([]float32, n)
	d := t.Data
	switch t.DType {
	case safetensors.F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		}
	case safetensors.BF16:
		for i := range out {
			out[i] = BF16Float(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case safetensors.F16:
		for i := range out {
			out[i] = F16Float(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case safetensors.F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:])))
		}
	default:
		return nil, fmt.Errorf("stored as %s; want F32, BF16, F16 or F64", t.DType)
	}
	return out, nil
}

// readQuantized decodes the weights file of a quantized directory, checking
// it against the format: one encoding per tensor, exact shapes, codes and
// scales in range, and nothing else in the file.
func readQuantized(dir string, c qwen2.Config, qc Config) ([]Weight, error) {
	path := filepath.Join(dir, qc.Weights)
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkMetadata(path, f.Metadata, qc); err != nil {
		return nil, err
	}
	have := map[string]safetensors.Tensor{}
	for _, n := range f.Names() {
		t, _ := f.Tensor(n)
		have[n] = t
	}
	used := map[string]bool{}
	get := func(name string, dt safetensors.DType, shape []int64) (safetensors.Tensor, error) {
		t, ok := have[name]
		if !ok {
			return t, fmt.Errorf("%s: missing tensor %q", path, name)
		}
		used[name] = true
		if t.DType != dt || !slices.Equal(t.Shape, shape) {
			return t, fmt.Errorf("%s: tensor %q is %s %v, want %s %v", path, name, t.DType, t.Shape, dt, shape)
		}
		return t, nil
	}
	has := func(name string) bool { _, ok := have[name]; return ok }
	var ws []Weight
	for _, s := range layout(c) {
		w := Weight{Name: s.name, Shape: s.shape, Data: make([]float32, numel(s.shape))}
		var err error
		switch {
		case s.kind == kindVector:
			var t safetensors.Tensor
			if t, err = get(s.name, safetensors.F32, s.shape); err == nil {
				w.Data, err = toFloat32(t)
			}
		case has(s.name + ".q8"):
			err = decode8(path, s, w.Data, get)
		case has(s.name + ".q4"):
			err = decode4(path, s, qc.GroupSize, w.Data, get)
		default:
			err = fmt.Errorf("%s: missing tensor %q (want %s.q8 or %s.q4 with its scales)", path, s.name, s.name, s.name)
		}
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	for _, n := range f.Names() {
		if !used[n] {
			return nil, fmt.Errorf("%s: unexpected tensor %q (not part of the format for this config.json)", path, n)
		}
	}
	return ws, nil
}

type getter func(name string, dt safetensors.DType, shape []int64) (safetensors.Tensor, error)

func decode8(path string, s spec, dst []float32, get getter) error {
	out, in := s.shape[0], s.shape[1]
	q, err := get(s.name+".q8", safetensors.I8, s.shape)
	if err != nil {
		return err
	}
	st, err := get(s.name+".scale", safetensors.F32, []int64{out})
	if err != nil {
		return err
	}
	scale, _ := toFloat32(st)
	if err := checkScales(path, s.name+".scale", scale); err != nil {
		return err
	}
	codes := make([]int8, len(q.Data))
	for i, b := range q.Data {
		if codes[i] = int8(b); codes[i] == -128 {
			return fmt.Errorf("%s: tensor %q: code -128 at element %d is outside [-127,127]", path, s.name+".q8", i)
		}
	}
	DequantizeRows8(dst, codes, scale, int(out), int(in))
	return nil
}

func decode4(path string, s spec, group int, dst []float32, get getter) error {
	out, in := s.shape[0], s.shape[1]
	if in%int64(group) != 0 {
		return fmt.Errorf("%s: tensor %q: input size %d is not a multiple of group_size %d", path, s.name+".q4", in, group)
	}
	ng := in / int64(group)
	q, err := get(s.name+".q4", safetensors.U8, []int64{out, in / 2})
	if err != nil {
		return err
	}
	st, err := get(s.name+".scale", safetensors.F16, []int64{out, ng})
	if err != nil {
		return err
	}
	zt, err := get(s.name+".zero", safetensors.U8, []int64{out, ng})
	if err != nil {
		return err
	}
	bits := make([]uint16, len(st.Data)/2)
	scale := make([]float32, len(bits))
	for i := range bits {
		bits[i] = binary.LittleEndian.Uint16(st.Data[2*i:])
		scale[i] = F16Float(bits[i])
	}
	if err := checkScales(path, s.name+".scale", scale); err != nil {
		return err
	}
	for i, z := range zt.Data {
		if z > 15 {
			return fmt.Errorf("%s: tensor %q: zero point %d at element %d is outside [0,15]", path, s.name+".zero", z, i)
		}
	}
	DequantizeGroups4(dst, q.Data, bits, zt.Data, int(out), int(in), group)
	return nil
}

func checkScales(path, name string, scale []float32) error {
	for i, v := range scale {
		if !(v >= 0) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s: tensor %q: scale %v at element %d is not a finite non-negative number", path, name, v, i)
		}
	}
	return nil
}

func checkMetadata(path string, md map[string]string, qc Config) error {
	want := map[string]string{"format": "medqa-quant", "format_version": strconv.Itoa(FormatVersion),
		"bits": strconv.Itoa(qc.Bits), "group_size": strconv.Itoa(qc.GroupSize)}
	for k, v := range want {
		if md[k] != v {
			return fmt.Errorf("%s: metadata %q is %q, want %q (does config.json's quantization_config belong to this file?)", path, k, md[k], v)
		}
	}
	return nil
}
