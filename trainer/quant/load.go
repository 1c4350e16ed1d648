package quant

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	"medqa/trainer/qkernel"
	"medqa/trainer/qwen2"
	"medqa/trainer/safetensors"
	"medqa/trainer/torch"
)

// Load reads a quantized model directory into a qwen2.Model whose matrices
// stay quantized: on the CPU in float32 they are the file's bytes, read once
// into memory (not through the file map, whose pages would count twice) and
// multiplied by trainer/qkernel; on CUDA (or in another dtype) they are int8
// codes and scales on the device, dequantized one matrix at a time. No
// full-precision copy of the model is ever made.
func Load(dir string, dt torch.DType, dev torch.Device) (m *qwen2.Model, err error) {
	qc, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	if qc == nil {
		return nil, fmt.Errorf("%s: config.json has no quantization_config; not a quantized model (use qwen2.Load)", filepath.Join(dir, "config.json"))
	}
	c, err := qwen2.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, qc.Weights)
	sf, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	if err := checkMetadata(path, sf.Metadata, *qc); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &loader{path: path, sf: sf, f: f, used: map[string]bool{}, dt: dt, dev: dev,
		kernels: dev == torch.CPU && dt == torch.Float32 && !ForceDequant}
	ws := map[string]*torch.Tensor{}
	ps := map[string]qwen2.Packed{}
	defer func() {
		if err != nil {
			for _, t := range ws {
				t.Close()
			}
			for _, p := range ps {
				p.Close()
			}
		}
	}()
	defer torch.Recover(&err)
	for _, s := range layout(c) {
		switch {
		case s.kind == kindVector:
			var t safetensors.Tensor
			if t, err = l.get(s.name, safetensors.F32, s.shape); err != nil {
				return nil, err
			}
			v, _ := toFloat32(t) // norms and biases: a few KiB from the map
			host := torch.FromSlice(nil, v, s.shape...)
			ws[s.name] = host.To(nil, dt, dev)
			host.Close()
		case l.has(s.name + ".q8"):
			p, err := l.int8(s)
			if err != nil {
				return nil, err
			}
			ps[s.name] = p
		case l.has(s.name + ".q4"):
			p, err := l.int4(s, int64(qc.GroupSize))
			if err != nil {
				return nil, err
			}
			ps[s.name] = p
		default:
			return nil, fmt.Errorf("%s: missing tensor %q (want %s.q8 or %s.q4 with its scales)", path, s.name, s.name, s.name)
		}
	}
	for _, n := range sf.Names() {
		if !l.used[n] {
			return nil, fmt.Errorf("%s: unexpected tensor %q (not part of the format for this config.json)", path, n)
		}
	}
	return qwen2.Assemble(c, ws, ps, dt, dev)
}

// loader reads one quantized weights file.
type loader struct {
	path    string
	sf      *safetensors.File
	f       *os.File
	used    map[string]bool
	dt      torch.DType
	dev     torch.Device
	kernels bool // build for the CPU kernels (else for the dequantizing path)
}

func (l *loader) has(name string) bool { _, err := l.sf.Tensor(name); return err == nil }

// get returns a tensor's header entry, checking its dtype and shape.
func (l *loader) get(name string, dt safetensors.DType, shape []int64) (safetensors.Tensor, error) {
	t, err := l.sf.Tensor(name)
	if err != nil {
		return t, fmt.Errorf("%s: missing tensor %q", l.path, name)
	}
	l.used[name] = true
	if t.DType != dt || !slices.Equal(t.Shape, shape) {
		return t, fmt.Errorf("%s: tensor %q is %s %v, want %s %v", l.path, name, t.DType, t.Shape, dt, shape)
	}
	return t, nil
}

// read copies a tensor's bytes from the file into a new CPU uint8 tensor
// (huge-page backed when large: the decode kernels stream it every token).
func (l *loader) read(t safetensors.Tensor) *torch.Tensor {
	shape := []int64{int64(len(t.Data))}
	var b *torch.Tensor
	if len(t.Data) >= 2<<20 && qwen2.HugePages {
		b = torch.EmptyHugePages(nil, shape, torch.Uint8)
	} else {
		b = torch.Empty(nil, shape, torch.Uint8, torch.CPU)
	}
	if len(t.Data) > 0 {
		if _, err := l.f.ReadAt(torch.Data[uint8](b), t.Offset); err != nil {
			b.Close()
			panic(&torch.Error{Msg: fmt.Sprintf("%s: tensor %q: %v", l.path, t.Name, err)})
		}
	}
	return b
}

func asFloat32(b []byte) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

func asUint16(b []byte) []uint16 {
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
}

func (l *loader) int8(s spec) (*packed, error) {
	out, in := s.shape[0], s.shape[1]
	qt, err := l.get(s.name+".q8", safetensors.I8, s.shape)
	if err != nil {
		return nil, err
	}
	st, err := l.get(s.name+".scale", safetensors.F32, []int64{out})
	if err != nil {
		return nil, err
	}
	p := &packed{out: out, in: in, group: in, dt: l.dt}
	codes, scale := l.read(qt), l.read(st)
	p.mem = []*torch.Tensor{codes, scale}
	cb := torch.Data[uint8](codes)
	if i := bytes.IndexByte(cb, 0x80); i >= 0 {
		p.Close()
		return nil, fmt.Errorf("%s: tensor %q: code -128 at element %d is outside [-127,127]", l.path, s.name+".q8", i)
	}
	sc := asFloat32(torch.Data[uint8](scale))
	if err := checkScales(l.path, s.name+".scale", sc); err != nil {
		p.Close()
		return nil, err
	}
	p.q8 = &qkernel.Q8{N: int(out), K: int(in), W: unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(cb))), len(cb)), Scale: sc}
	p.qm = torch.QMatrix{Codes: codes.ViewDType(nil, torch.Int8).View(nil, out, in),
		Scales: scale.ViewDType(nil, torch.Float32).View(nil, out, 1), Out: out, In: in}
	if !l.kernels {
		l.toDevice(p)
	}
	return p, nil
}

func (l *loader) int4(s spec, group int64) (*packed, error) {
	out, in := s.shape[0], s.shape[1]
	if in%group != 0 {
		return nil, fmt.Errorf("%s: tensor %q: input size %d is not a multiple of group_size %d", l.path, s.name+".q4", in, group)
	}
	ng := in / group
	qt, err := l.get(s.name+".q4", safetensors.U8, []int64{out, in / 2})
	if err != nil {
		return nil, err
	}
	st, err := l.get(s.name+".scale", safetensors.F16, []int64{out, ng})
	if err != nil {
		return nil, err
	}
	zt, err := l.get(s.name+".zero", safetensors.U8, []int64{out, ng})
	if err != nil {
		return nil, err
	}
	p := &packed{out: out, in: in, group: group, dt: l.dt}
	codes, scale, zero := l.read(qt), l.read(st), l.read(zt)
	p.mem = []*torch.Tensor{codes, scale, zero}
	bits := asUint16(torch.Data[uint8](scale))
	sc := make([]float32, len(bits))
	for i, h := range bits {
		sc[i] = F16Float(h)
	}
	if err := checkScales(l.path, s.name+".scale", sc); err != nil {
		p.Close()
		return nil, err
	}
	zs := torch.Data[uint8](zero)
	for i, z := range zs {
		if z > 15 {
			p.Close()
			return nil, fmt.Errorf("%s: tensor %q: zero point %d at element %d is outside [0,15]", l.path, s.name+".zero", z, i)
		}
	}
	p.q4 = &qkernel.Q4{N: int(out), K: int(in), Group: int(group), W: torch.Data[uint8](codes), Scale: bits, Zero: zs}
	p.qm = torch.QMatrix{Codes: codes.View(nil, out, in/2), Scales: scale.ViewDType(nil, torch.Float16).View(nil, out, ng),
		Zeros: zero.View(nil, out, ng), Out: out, In: in}
	if !l.kernels {
		l.toDevice(p)
	}
	return p, nil
}

// toDevice turns p into the dequantizing form: the stored codes, scales and
// zero points as tensors on the run device (still packed: int4 codes stay two
// to a byte); the CPU bytes are freed.
func (l *loader) toDevice(p *packed) {
	cpu := p.qm
	p.qm.Codes, p.qm.Scales = cpu.Codes.To(nil, cpu.Codes.DType(), l.dev), cpu.Scales.To(nil, cpu.Scales.DType(), l.dev)
	if cpu.Zeros != nil {
		p.qm.Zeros = cpu.Zeros.To(nil, torch.Uint8, l.dev)
	}
	for _, t := range append(p.mem, cpu.Codes, cpu.Scales, cpu.Zeros) {
		t.Close()
	}
	p.mem, p.q8, p.q4 = nil, nil, nil
}
