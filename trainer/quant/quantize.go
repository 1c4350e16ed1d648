package quant

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"medqa/trainer/atomicfile"
	"medqa/trainer/safetensors"
)

// Options choose the quantization.
type Options struct {
	Bits  int // 8 or 4
	Group int // int4 group size: 32 or 64 (0: 32)
}

// Summary reports what Quantize wrote.
type Summary struct {
	Bits          int      `json:"bits"`
	GroupSize     int      `json:"group_size,omitempty"`
	Params        int64    `json:"params"`
	F32Bytes      int64    `json:"f32_bytes"`       // the weights as float32
	SourceBytes   int64    `json:"source_bytes"`    // the source's *.safetensors files as stored
	QuantBytes    int64    `json:"quantized_bytes"` // the weights file written
	Int4Tensors   int      `json:"int4_tensors"`
	Int8Tensors   int      `json:"int8_tensors"`
	FloatTensors  int      `json:"float_tensors"`
	Int8Fallbacks []string `json:"int8_fallbacks,omitempty"` // linear layers kept int8: input size not a multiple of the group
	// MaxErrOverScale is max |w - deq(q(w))| / scale over all elements (<= 0.5).
	MaxErrOverScale float64 `json:"max_err_over_scale"`
}

// ExtraFiles are copied from the source directory when present: generation
// defaults, tokenizer, licence.
var ExtraFiles = []string{"generation_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
	"special_tokens_map.json", "added_tokens.json", "chat_template.jinja", "LICENSE"}

// Quantize writes a quantized copy of the model in src (a Hugging Face or
// already quantized directory) to out, whole or not at all: everything is
// written to a temporary directory beside out and renamed into place. out
// must not exist or be an empty directory.
func Quantize(src, out string, opt Options) (sum Summary, err error) {
	if opt.Bits != 8 && opt.Bits != 4 {
		return sum, fmt.Errorf("bits must be 8 or 4, got %d", opt.Bits)
	}
	if opt.Bits == 4 && opt.Group == 0 {
		opt.Group = 32
	}
	if opt.Bits == 4 && opt.Group != 32 && opt.Group != 64 {
		return sum, fmt.Errorf("group size must be 32 or 64, got %d", opt.Group)
	}
	if opt.Bits == 8 {
		opt.Group = 0
	}
	if err := checkOut(out); err != nil {
		return sum, err
	}
	c, ws, err := ReadWeights(src)
	if err != nil {
		return sum, err
	}
	sum = Summary{Bits: opt.Bits, GroupSize: opt.Group, SourceBytes: weightBytes(src)}
	var ts []safetensors.Tensor
	specs := layout(c)
	for i, w := range ws {
		if err := checkFinite(src, w); err != nil {
			return sum, err
		}
		sum.Params += int64(len(w.Data))
		enc, e := encode(w, specs[i].kind, opt, &sum)
		if e != nil {
			return sum, e
		}
		ts = append(ts, enc...)
	}
	sum.F32Bytes = 4 * sum.Params

	out = filepath.Clean(out)
	tmp, err := atomicfile.TempDir(out)
	if err != nil {
		return sum, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	qc := Config{QuantMethod: Method, FormatVersion: FormatVersion, Bits: opt.Bits, GroupSize: opt.Group, Weights: WeightsFile(opt.Bits)}
	md := map[string]string{"format": "medqa-quant", "format_version": strconv.Itoa(FormatVersion),
		"bits": strconv.Itoa(opt.Bits), "group_size": strconv.Itoa(opt.Group)}
	wpath := filepath.Join(tmp, qc.Weights)
	if err := safetensors.Write(wpath, ts, md); err != nil {
		return sum, err
	}
	if err := os.Chmod(wpath, 0o644); err != nil { // CreateTemp made it 0600; model files are shared
		return sum, err
	}
	if fi, err := os.Stat(wpath); err == nil {
		sum.QuantBytes = fi.Size()
	}
	if err := writeConfig(filepath.Join(src, "config.json"), filepath.Join(tmp, "config.json"), qc); err != nil {
		return sum, err
	}
	for _, name := range ExtraFiles {
		if err := copyIfPresent(filepath.Join(src, name), filepath.Join(tmp, name)); err != nil {
			return sum, err
		}
	}
	return sum, atomicfile.ReplaceDir(tmp, out) // an existing out is empty, checked above
}

// encode stores one weight in its format encoding and accounts for it.
func encode(w Weight, k kind, opt Options, sum *Summary) ([]safetensors.Tensor, error) {
	if k == kindVector {
		sum.FloatTensors++
		return []safetensors.Tensor{{Name: w.Name, DType: safetensors.F32, Shape: w.Shape, Data: f32Bytes(w.Data)}}, nil
	}
	rows, cols := int(w.Shape[0]), int(w.Shape[1])
	if k == kindLinear && opt.Bits == 4 {
		if cols%opt.Group == 0 {
			sum.Int4Tensors++
			packed, scales, zeros := QuantizeGroups4(w.Data, rows, cols, opt.Group)
			deq := make([]float32, len(w.Data))
			DequantizeGroups4(deq, packed, scales, zeros, rows, cols, opt.Group)
			for i := range deq {
				s := F16Float(scales[i/opt.Group])
				sum.MaxErrOverScale = max(sum.MaxErrOverScale, errOverScale(w.Data[i], deq[i], s))
			}
			ng := int64(cols / opt.Group)
			sb := make([]byte, 2*len(scales))
			for i, v := range scales {
				binary.LittleEndian.PutUint16(sb[2*i:], v)
			}
			return []safetensors.Tensor{
				{Name: w.Name + ".q4", DType: safetensors.U8, Shape: []int64{w.Shape[0], w.Shape[1] / 2}, Data: packed},
				{Name: w.Name + ".scale", DType: safetensors.F16, Shape: []int64{w.Shape[0], ng}, Data: sb},
				{Name: w.Name + ".zero", DType: safetensors.U8, Shape: []int64{w.Shape[0], ng}, Data: zeros},
			}, nil
		}
		sum.Int8Fallbacks = append(sum.Int8Fallbacks, w.Name)
	}
	sum.Int8Tensors++
	q, scale := QuantizeRows8(w.Data, rows, cols)
	deq := make([]float32, len(w.Data))
	DequantizeRows8(deq, q, scale, rows, cols)
	for i := range deq {
		sum.MaxErrOverScale = max(sum.MaxErrOverScale, errOverScale(w.Data[i], deq[i], scale[i/cols]))
	}
	qb := make([]byte, len(q))
	for i, v := range q {
		qb[i] = byte(v)
	}
	return []safetensors.Tensor{
		{Name: w.Name + ".q8", DType: safetensors.I8, Shape: w.Shape, Data: qb},
		{Name: w.Name + ".scale", DType: safetensors.F32, Shape: []int64{w.Shape[0]}, Data: f32Bytes(scale)},
	}, nil
}

func errOverScale(w, d, s float32) float64 {
	if s == 0 {
		return 0
	}
	return math.Abs(float64(w)-float64(d)) / float64(s)
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func checkFinite(dir string, w Weight) error {
	for i, v := range w.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s: tensor %q: element %d is %v; cannot quantize", dir, w.Name, i, v)
		}
	}
	return nil
}

// checkOut refuses to replace anything but an empty directory.
func checkOut(out string) error {
	fi, err := os.Stat(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("--out %s exists and is not a directory", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("--out %s exists and is not empty; choose a new directory", out)
	}
	return nil
}

// weightBytes sums the sizes of dir's weight files.
func weightBytes(dir string) int64 {
	var n int64
	ms, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	for _, m := range ms {
		if fi, err := os.Stat(m); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// writeConfig copies config.json, keeping every field as it was and setting
// quantization_config.
func writeConfig(src, dst string, qc Config) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%s: %v", src, err)
	}
	q, _ := json.Marshal(qc)
	m["quantization_config"] = q
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(dst, append(b, '\n'), 0o644)
}

func copyIfPresent(src, dst string) error {
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return o.Close()
}

// HumanBytes formats n as MiB/GiB for reports.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return strings.TrimSpace(fmt.Sprintf("%d B", n))
}
