package quant

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medqa/trainer/safetensors"
	"medqa/trainer/torch"
)

// rewriteWeights applies edit to the tensors of a quantized directory's
// weights file and writes it back.
func rewriteWeights(t *testing.T, dir string, edit func(ts []safetensors.Tensor, md map[string]string) []safetensors.Tensor) {
	t.Helper()
	path := filepath.Join(dir, "model.q4.safetensors")
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		x, _ := f.Tensor(n)
		x.Data = append([]byte(nil), x.Data...)
		ts = append(ts, x)
	}
	md := map[string]string{}
	for k, v := range f.Metadata {
		md[k] = v
	}
	f.Close()
	if err := safetensors.Write(path, edit(ts, md), md); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		if err := copyIfPresent(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestBadQuantizedFilesNameTheProblem(t *testing.T) {
	src := writeRandomModel(t, testConfig(true), 2)
	good := filepath.Join(t.TempDir(), "q4")
	if _, err := Quantize(src, good, Options{Bits: 4, Group: 32}); err != nil {
		t.Fatal(err)
	}
	const q = "model.layers.1.mlp.up_proj.weight"
	cases := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   []string
	}{
		{"missing weights file", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "model.q4.safetensors")) },
			[]string{"model.q4.safetensors", "no such file"}},
		{"truncated weights file", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.q4.safetensors")
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()-100)
		}, []string{"model.q4.safetensors"}},
		{"missing scale", func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(ts []safetensors.Tensor, _ map[string]string) []safetensors.Tensor {
				return drop(ts, q+".scale")
			})
		}, []string{q + ".scale", "missing"}},
		{"wrong shape", func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(ts []safetensors.Tensor, _ map[string]string) []safetensors.Tensor {
				for i := range ts {
					if ts[i].Name == q+".zero" {
						ts[i].Shape = []int64{ts[i].Shape[1], ts[i].Shape[0]}
					}
				}
				return ts
			})
		}, []string{q + ".zero", "want U8"}},
		{"zero point out of range", func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(ts []safetensors.Tensor, _ map[string]string) []safetensors.Tensor {
				for i := range ts {
					if ts[i].Name == q+".zero" {
						ts[i].Data[3] = 16
					}
				}
				return ts
			})
		}, []string{q + ".zero", "outside [0,15]", "element 3"}},
		{"NaN scale", func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(ts []safetensors.Tensor, _ map[string]string) []safetensors.Tensor {
				for i := range ts {
					if ts[i].Name == "model.embed_tokens.weight.scale" {
						copy(ts[i].Data[8:], []byte{0, 0, 0xc0, 0x7f})
					}
				}
				return ts
			})
		}, []string{"model.embed_tokens.weight.scale", "element 2"}},
		{"unexpected tensor", func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(ts []safetensors.Tensor, _ map[string]string) []safetensors.Tensor {
				return append(ts, safetensors.Tensor{Name: "extra.weight", DType: safetensors.F32, Shape: []int64{1}, Data: make([]byte, 4)})
			})
		}, []string{"unexpected tensor", "extra.weight"}},
		{"metadata of another quantization", func(t *testing.T, dir string) {
			rewriteWeights(t, dir, func(ts []safetensors.Tensor, md map[string]string) []safetensors.Tensor {
				md["group_size"] = "64"
				return ts
			})
		}, []string{"group_size", "model.q4.safetensors"}},
		{"unsupported bits", func(t *testing.T, dir string) { editConfig(t, dir, "bits", 3) },
			[]string{"config.json", "quantization_config.bits", "3"}},
		{"foreign quant method", func(t *testing.T, dir string) { editConfig(t, dir, "quant_method", "gptq") },
			[]string{"config.json", "gptq"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, good)
			tc.break_(t, dir)
			_, err := Load(dir, torch.Float32, torch.CPU)
			if err == nil {
				t.Fatal("loaded a broken directory")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func drop(ts []safetensors.Tensor, name string) []safetensors.Tensor {
	out := ts[:0]
	for _, x := range ts {
		if x.Name != name {
			out = append(out, x)
		}
	}
	return out
}

func editConfig(t *testing.T, dir, key string, v any) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	raw, _ := os.ReadFile(p)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["quantization_config"].(map[string]any)[key] = v
	raw, _ = json.Marshal(m)
	os.WriteFile(p, raw, 0o644)
}

func TestQuantizeRefusesBadSourcesAndLeavesNothing(t *testing.T) {
	src := writeRandomModel(t, testConfig(true), 3)
	// A source with a NaN weight.
	nan := copyDir(t, src)
	f, _ := safetensors.Open(filepath.Join(nan, "model.safetensors"))
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		x, _ := f.Tensor(n)
		x.Data = append([]byte(nil), x.Data...)
		if n == "model.layers.0.self_attn.k_proj.weight" {
			copy(x.Data[40:], []byte{0, 0, 0xc0, 0x7f})
		}
		ts = append(ts, x)
	}
	f.Close()
	if err := safetensors.Write(filepath.Join(nan, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	nonEmpty := t.TempDir()
	os.WriteFile(filepath.Join(nonEmpty, "keep.txt"), []byte("mine"), 0o644)

	for _, tc := range []struct {
		name, src, out string
		opt            Options
		want           []string
	}{
		{"NaN weight", nan, "", Options{Bits: 8}, []string{"model.layers.0.self_attn.k_proj.weight", "element 10", "NaN"}},
		{"missing source", filepath.Join(src, "nope"), "", Options{Bits: 8}, []string{"nope", "config.json"}},
		{"bits", src, "", Options{Bits: 2}, []string{"bits must be 8 or 4"}},
		{"group", src, "", Options{Bits: 4, Group: 48}, []string{"group size must be 32 or 64"}},
		{"non-empty out", src, nonEmpty, Options{Bits: 8}, []string{"not empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			out := tc.out
			if out == "" {
				out = filepath.Join(parent, "q")
			}
			_, err := Quantize(tc.src, out, tc.opt)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.out == "" {
				if ents, _ := os.ReadDir(parent); len(ents) != 0 {
					t.Errorf("failed quantize left %v behind", ents)
				}
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(nonEmpty, "keep.txt")); string(b) != "mine" {
		t.Error("a non-empty --out was touched")
	}
}

// Dequantized weights must be exactly what the format says, so the loader
// cannot drift from the spec: decode one int4 tensor by hand from the file.
func TestInt4DecodeFollowsTheSpec(t *testing.T) {
	src := writeRandomModel(t, testConfig(true), 4)
	out := filepath.Join(t.TempDir(), "q4")
	if _, err := Quantize(src, out, Options{Bits: 4, Group: 64}); err != nil {
		t.Fatal(err)
	}
	_, ws, err := ReadWeights(out)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := safetensors.Open(filepath.Join(out, "model.q4.safetensors"))
	defer f.Close()
	const name = "model.layers.0.mlp.down_proj.weight" // [128, 192]: 3 groups per row
	q, _ := f.Tensor(name + ".q4")
	s, _ := f.Tensor(name + ".scale")
	z, _ := f.Tensor(name + ".zero")
	var got []float32
	for _, w := range ws {
		if w.Name == name {
			got = w.Data
		}
	}
	for _, idx := range [][2]int{{0, 0}, {0, 1}, {5, 64}, {127, 191}, {77, 130}} {
		r, c := idx[0], idx[1]
		b := q.Data[r*96+c/2]
		code := float64(b & 0xf)
		if c%2 == 1 {
			code = float64(b >> 4)
		}
		g := r*3 + c/64
		scale := float64(F16Float(uint16(s.Data[2*g]) | uint16(s.Data[2*g+1])<<8))
		want := (code - float64(z.Data[g])) * scale
		if math.Abs(float64(got[r*192+c])-want) > 1e-9 {
			t.Errorf("[%d,%d]: loader gives %g, the spec %g", r, c, got[r*192+c], want)
		}
	}
}
