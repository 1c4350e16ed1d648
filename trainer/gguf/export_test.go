package gguf

import (
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	parser "github.com/gpustack/gguf-parser-go"

	"medqa/assets"
	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
)

// testConfig is the QwenVocab test shape (Qwen2.5's vocabulary, so the real
// tokenizer fits) with a beginning-of-text id and a feed-forward size (80)
// that is not a multiple of 32, so ffn_down exercises the Q8_0 → F16 fallback.
func testConfig(tied bool) qwen2.Config {
	bos := int64(151643)
	s := testkit.QwenVocab
	s.Intermediate, s.Tied, s.BOS = 80, tied, &bos
	return qwen2test.Config(s)
}

type parsed struct {
	gf  *parser.GGUFFile
	raw []byte
}

func parse(t *testing.T, path string) parsed {
	t.Helper()
	gf, err := parser.ParseGGUFFile(path, parser.UseMMap())
	if err != nil {
		t.Fatalf("independent parser rejects %s: %v", path, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parsed{gf, raw}
}

func (p parsed) kv(t *testing.T, key string) parser.GGUFMetadataKV {
	t.Helper()
	kv, ok := p.gf.Header.MetadataKV.Get(key)
	if !ok {
		t.Fatalf("metadata %q missing", key)
	}
	return kv
}

// decode returns a tensor's values, dequantized by the parser's own type
// traits for sizes and a decoder written from the ggml block definitions.
func (p parsed) decode(t *testing.T, ti parser.GGUFTensorInfo) []float64 {
	t.Helper()
	start := uint64(p.gf.TensorDataStartOffset) + ti.Offset
	size := ti.Bytes()
	b := p.raw[start : start+size]
	n := ti.Elements()
	out := make([]float64, 0, n)
	switch ti.Type {
	case parser.GGMLTypeF32:
		for i := uint64(0); i < n; i++ {
			out = append(out, float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))))
		}
	case parser.GGMLTypeF16:
		for i := uint64(0); i < n; i++ {
			out = append(out, half(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case parser.GGMLTypeQ8_0:
		for blk := 0; blk < len(b); blk += 34 {
			d := half(binary.LittleEndian.Uint16(b[blk:]))
			for j := 0; j < 32; j++ {
				out = append(out, d*float64(int8(b[blk+2+j])))
			}
		}
	default:
		t.Fatalf("%s: unexpected type %v", ti.Name, ti.Type)
	}
	return out
}

// half decodes IEEE binary16 from its definition (independent of quant.F16Float).
func half(h uint16) float64 {
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	if e == 0 {
		return s * m * math.Pow(2, -24)
	}
	return s * (1 + m/1024) * math.Pow(2, float64(e-15))
}

func TestExportParsesWithIndependentParser(t *testing.T) {
	for _, tc := range []struct {
		tied bool
		typ  Type
	}{{true, F16}, {false, Q8_0}} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			c := testConfig(tc.tied)
			dir := qwen2test.Write(t, c, 11)
			out := filepath.Join(t.TempDir(), "m.gguf")
			sum, err := Export(dir, out, Options{Type: tc.typ, TokenizerFS: assets.Tokenizer, TokenizerDir: assets.TokenizerInstruct})
			if err != nil {
				t.Fatal(err)
			}
			p := parse(t, out)
			checkHeader(t, p, c, tc.typ, filepath.Base(dir))
			checkTokenizer(t, p)
			checkTensors(t, p, dir, c, tc.typ)
			if sum.Bytes != int64(len(p.raw)) || sum.Tensors != len(p.gf.TensorInfos) {
				t.Errorf("summary %+v disagrees with the file (%d bytes, %d tensors)", sum, len(p.raw), len(p.gf.TensorInfos))
			}
		})
	}
}

func checkHeader(t *testing.T, p parsed, c qwen2.Config, typ Type, name string) {
	h := p.gf.Header
	if h.Version != 3 || h.Magic != parser.GGUFMagicGGUFLe {
		t.Errorf("magic %v version %v", h.Magic, h.Version)
	}
	a := p.gf.Architecture()
	if a.Architecture != "qwen2" || a.MaximumContextLength != uint64(c.MaxPositionEmbeddings) ||
		a.EmbeddingLength != uint64(c.HiddenSize) || a.BlockCount != uint64(c.NumHiddenLayers) ||
		len(a.FeedForwardLength) == 0 || a.FeedForwardLength[0] != uint64(c.IntermediateSize) ||
		a.AttentionHeadCount != uint64(c.NumAttentionHeads) || a.AttentionHeadCountKV != uint64(c.NumKeyValueHeads) ||
		a.AttentionLayerNormRMSEpsilon != float32(c.RMSNormEps) {
		t.Errorf("architecture as the parser reads it: %+v", a)
	}
	if v := p.kv(t, "qwen2.rope.freq_base").ValueFloat32(); v != 1e6 {
		t.Errorf("rope.freq_base %v", v)
	}
	wantFT := map[Type]uint32{F16: 1, Q8_0: 7}[typ]
	if ft := p.kv(t, "general.file_type").ValueUint32(); ft != wantFT {
		t.Errorf("general.file_type %d, want %d", ft, wantFT)
	}
	if al := p.kv(t, "general.alignment").ValueUint32(); al != 32 {
		t.Errorf("alignment %d", al)
	}
	if n := p.kv(t, "general.name").ValueString(); n != name { // the model folder's name
		t.Errorf("general.name %q, want %q", n, name)
	}
}

func checkTokenizer(t *testing.T, p parsed) {
	tk := p.gf.Tokenizer()
	if tk.Model != "gpt2" || tk.TokensLength != 151936 || tk.MergesLength != 151387 {
		t.Errorf("tokenizer as the parser reads it: %+v", tk)
	}
	// Instruct: bos from config.json, eos and padding from tokenizer_config.json.
	if tk.BOSTokenID != 151643 || tk.EOSTokenID != 151645 || tk.PaddingTokenID != 151643 {
		t.Errorf("special ids bos %d eos %d pad %d", tk.BOSTokenID, tk.EOSTokenID, tk.PaddingTokenID)
	}
	if pre := p.kv(t, "tokenizer.ggml.pre").ValueString(); pre != "qwen2" {
		t.Errorf("pre %q", pre)
	}
	if p.kv(t, "tokenizer.ggml.add_bos_token").ValueBool() {
		t.Error("add_bos_token is true; Qwen2.5 adds no BOS")
	}
	toks := p.kv(t, "tokenizer.ggml.tokens").ValueArray().ValuesString()
	types := p.kv(t, "tokenizer.ggml.token_type").ValueArray().ValuesInt32()
	merges := p.kv(t, "tokenizer.ggml.merges").ValueArray().ValuesString()
	// Against the embedded tokenizer.json, read here without the package's reader.
	var tj struct {
		Model struct {
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	zr, _ := assets.Tokenizer.Open(assets.TokenizerBase + "/tokenizer.json.gz")
	gz, err := gzip.NewReader(zr)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(gz)
	if err := json.Unmarshal(raw, &tj); err != nil {
		t.Fatal(err)
	}
	for tok, id := range tj.Model.Vocab {
		if toks[id] != tok || types[id] != 1 {
			t.Fatalf("token %d: %q type %d, want %q normal", id, toks[id], types[id], tok)
		}
	}
	for i, m := range tj.Model.Merges {
		if merges[i] != m {
			t.Fatalf("merge %d: %q, want %q", i, merges[i], m)
		}
	}
	for id, want := range map[int]struct {
		tok string
		typ int32
	}{151643: {"<|endoftext|>", 3}, 151644: {"<|im_start|>", 3}, 151645: {"<|im_end|>", 3},
		151657: {"<tool_call>", 4}, 151664: {"<|file_sep|>", 3}, 151665: {"[PAD151665]", 5}, 151935: {"[PAD151935]", 5}} {
		if toks[id] != want.tok || types[id] != want.typ {
			t.Errorf("token %d: %q type %d, want %q type %d", id, toks[id], types[id], want.tok, want.typ)
		}
	}
	tmpl := p.kv(t, "tokenizer.chat_template").ValueString()
	if !strings.Contains(tmpl, "<|im_start|>") || !strings.Contains(tmpl, "You are Qwen, created by Alibaba Cloud") {
		t.Errorf("chat_template is not the Instruct template: %.80q", tmpl)
	}
}

func checkTensors(t *testing.T, p parsed, dir string, c qwen2.Config, typ Type) {
	_, ws, err := quant.ReadWeights(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := map[string]quant.Weight{}
	for _, w := range ws {
		src[w.Name] = w
	}
	want := map[string]string{"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight"}
	if !c.TieWordEmbeddings {
		want["output.weight"] = "lm_head.weight"
	}
	for i := 0; i < c.NumHiddenLayers; i++ {
		for g, h := range map[string]string{"attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
			"attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
			"attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
			"attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
			"attn_output.weight": "self_attn.o_proj.weight", "ffn_gate.weight": "mlp.gate_proj.weight",
			"ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight"} {
			want[fmtName("blk.%d.", i)+g] = fmtName("model.layers.%d.", i) + h
		}
	}
	if len(p.gf.TensorInfos) != len(want) {
		t.Errorf("%d tensors, want %d", len(p.gf.TensorInfos), len(want))
	}
	end := uint64(0)
	for _, ti := range p.gf.TensorInfos {
		hf, ok := want[ti.Name]
		if !ok {
			t.Errorf("unexpected tensor %q", ti.Name)
			continue
		}
		w := src[hf]
		// Dimensions are PyTorch's reversed.
		if len(ti.Dimensions) != len(w.Shape) {
			t.Fatalf("%s: dims %v for shape %v", ti.Name, ti.Dimensions, w.Shape)
		}
		for k := range w.Shape {
			if ti.Dimensions[k] != uint64(w.Shape[len(w.Shape)-1-k]) {
				t.Errorf("%s: dims %v, want %v reversed", ti.Name, ti.Dimensions, w.Shape)
			}
		}
		wantType := parser.GGMLTypeF32
		switch {
		case len(w.Shape) == 1 || typ == F32:
		case typ == F16 || w.Shape[1]%32 != 0:
			wantType = parser.GGMLTypeF16
		default:
			wantType = parser.GGMLTypeQ8_0
		}
		if ti.Type != wantType {
			t.Errorf("%s: type %v, want %v", ti.Name, ti.Type, wantType)
		}
		if ti.Offset%32 != 0 || ti.Offset < end {
			t.Errorf("%s: offset %d (previous tensor ends at %d) not aligned or overlapping", ti.Name, ti.Offset, end)
		}
		end = ti.Offset + ti.Bytes()
		got := p.decode(t, ti)
		for j, x := range w.Data {
			var tol float64
			switch ti.Type {
			case parser.GGMLTypeF32:
				tol = 0
			case parser.GGMLTypeF16:
				tol = math.Max(math.Abs(float64(x))*math.Pow(2, -11), math.Pow(2, -25)) // half an ulp; subnormals below 2^-14
			case parser.GGMLTypeQ8_0:
				// |x - q·d16| <= d/2 + 127·|d - d16|, with d16 within 2^-11·d of d.
				blk := w.Data[j/32*32 : j/32*32+32]
				amax := 0.0
				for _, v := range blk {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				d := amax / 127
				tol = d/2 + 127*d*math.Pow(2, -11) + 1e-12
			}
			if e := math.Abs(got[j] - float64(x)); e > tol {
				t.Fatalf("%s[%d]: file has %g, source %g (|err| %g > %g)", ti.Name, j, got[j], x, e, tol)
			}
		}
	}
	if uint64(p.gf.TensorDataStartOffset)+end > uint64(len(p.raw)) {
		t.Errorf("tensor data runs past the end of the file")
	}
}

func fmtName(f string, i int) string { return strings.Replace(f, "%d", itoa(i), 1) }
func itoa(i int) string              { return string(rune('0' + i)) }

func TestExportRefusesBadInput(t *testing.T) {
	c := testConfig(true)
	dir := qwen2test.Write(t, c, 11)
	noTok := t.TempDir()
	badCfg := fstestMap(map[string]string{"tokenizer.json": `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`,
		"tokenizer_config.json": `{"eos_token": "<|nope|>"}`})
	wide := fstestMap(map[string]string{"tokenizer.json": `{"model":{"type":"BPE","vocab":{"a":151936},"merges":[]}}`})
	for _, tc := range []struct {
		name  string
		model string
		opt   Options
		want  []string
	}{
		{"no tokenizer", dir, Options{Type: F16, TokenizerFS: os.DirFS(noTok), TokenizerDir: "."}, []string{"no tokenizer.json"}},
		{"unknown eos", dir, Options{Type: F16, TokenizerFS: badCfg, TokenizerDir: "."}, []string{"tokenizer_config.json", "eos_token", "<|nope|>"}},
		{"token outside vocab", dir, Options{Type: F16, TokenizerFS: wide, TokenizerDir: "."}, []string{"tokenizer.json", "151936"}},
		{"missing model", filepath.Join(dir, "nope"), Options{Type: F16}, []string{"config.json"}},
		{"type", dir, Options{Type: Type(3)}, []string{"F32, F16, Q8_0 or Q4_0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			_, err := Export(tc.model, filepath.Join(outDir, "x.gguf"), tc.opt)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("failed export left %v", ents)
			}
		})
	}
}

// fstestMap is a tiny in-memory file system.
func fstestMap(files map[string]string) fs.FS {
	dir, _ := os.MkdirTemp("", "gguf-fs-")
	for n, s := range files {
		os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644)
	}
	return os.DirFS(dir)
}

func TestTensorTypesPerRequest(t *testing.T) {
	ws := []quant.Weight{{Name: "model.embed_tokens.weight", Shape: []int64{4, 64}, Data: make([]float32, 256)},
		{Name: "model.layers.0.mlp.down_proj.weight", Shape: []int64{64, 80}, Data: make([]float32, 64*80)},
		{Name: "model.norm.weight", Shape: []int64{64}, Data: make([]float32, 64)}}
	for typ, want := range map[Type][]Type{F32: {F32, F32, F32}, F16: {F16, F16, F32}, Q8_0: {Q8_0, F16, F32}} {
		ts, _ := tensorsFor(ws, typ)
		for i, x := range ts {
			b, _ := x.Data()
			if x.Type != want[i] || int64(len(b)) != x.size() {
				t.Errorf("%v: %s is %v with %d bytes, want %v", typ, x.Name, x.Type, len(b), want[i])
			}
		}
	}
}
