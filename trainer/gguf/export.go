package gguf

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
)

// Options control Export.
type Options struct {
	Type Type   // F32, F16, Q8_0 or Q4_0 for the matrices (1-D tensors are always F32)
	Name string // general.name (default: the model directory's name)
	// TokenizerFS and TokenizerDir locate tokenizer.json and
	// tokenizer_config.json (default: the model directory).
	TokenizerFS  fs.FS
	TokenizerDir string
}

// Summary reports what Export wrote.
type Summary struct {
	Path    string         `json:"path"`
	Bytes   int64          `json:"bytes"`
	Tensors int            `json:"tensors"`
	Types   map[string]int `json:"types"` // tensor count per ggml type
	Tokens  int            `json:"tokens"`
	Merges  int            `json:"merges"`
}

// Export writes the model in modelDir (Hugging Face or medqa-quantized) to
// the GGUF file out, atomically (a temporary file beside out, renamed when
// complete).
func Export(modelDir, out string, opt Options) (sum Summary, err error) {
	if opt.Type != F32 && opt.Type != F16 && opt.Type != Q8_0 && opt.Type != Q4_0 {
		return sum, fmt.Errorf("gguf: type must be F32, F16, Q8_0 or Q4_0, got %v", opt.Type)
	}
	c, ws, err := quant.ReadWeights(modelDir)
	if err != nil {
		return sum, err
	}
	if opt.TokenizerFS == nil {
		opt.TokenizerFS, opt.TokenizerDir = os.DirFS(modelDir), "."
	}
	v, err := ReadVocab(opt.TokenizerFS, opt.TokenizerDir, c.VocabSize, c.BOSTokenID, c.EOSTokenID)
	if err != nil {
		return sum, err
	}
	if opt.Name == "" {
		abs, _ := filepath.Abs(modelDir)
		opt.Name = filepath.Base(abs)
	}
	kvs := metadata(c, v, opt)
	tensors, types := tensorsFor(ws, opt.Type)

	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return sum, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := Write(tmp, kvs, tensors); err != nil {
		return sum, fmt.Errorf("%s: %w", out, err)
	}
	if err := tmp.Sync(); err != nil {
		return sum, err
	}
	if err := tmp.Close(); err != nil {
		return sum, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return sum, err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return sum, err
	}
	fi, _ := os.Stat(out)
	return Summary{Path: out, Bytes: fi.Size(), Tensors: len(tensors), Types: types, Tokens: len(v.Tokens), Merges: len(v.Merges)}, nil
}

// metadata is the key/value set llama.cpp's qwen2 loader reads.
func metadata(c qwen2.Config, v *Vocab, opt Options) []KV {
	fileType := map[Type]uint32{F32: 0, F16: 1, Q8_0: 7, Q4_0: 2}[opt.Type] // LLAMA_FTYPE_ALL_F32, _MOSTLY_F16, _MOSTLY_Q8_0, _MOSTLY_Q4_0
	kvs := []KV{
		{"general.architecture", "qwen2"},
		{"general.type", "model"},
		{"general.name", opt.Name},
		{"general.file_type", fileType},
		{"general.quantization_version", uint32(2)},
		{"general.alignment", uint32(Alignment)},
		{"qwen2.context_length", uint32(c.MaxPositionEmbeddings)},
		{"qwen2.embedding_length", uint32(c.HiddenSize)},
		{"qwen2.block_count", uint32(c.NumHiddenLayers)},
		{"qwen2.feed_forward_length", uint32(c.IntermediateSize)},
		{"qwen2.attention.head_count", uint32(c.NumAttentionHeads)},
		{"qwen2.attention.head_count_kv", uint32(c.NumKeyValueHeads)},
		{"qwen2.rope.freq_base", float32(c.RopeTheta)},
		{"qwen2.attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)},
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "qwen2"},
		{"tokenizer.ggml.tokens", v.Tokens},
		{"tokenizer.ggml.token_type", v.Types},
		{"tokenizer.ggml.merges", v.Merges},
	}
	if c.HeadDim > 0 && c.HeadDim != c.HiddenSize/c.NumAttentionHeads {
		kvs = append(kvs, KV{"qwen2.attention.key_length", uint32(c.HeadDim)}, KV{"qwen2.attention.value_length", uint32(c.HeadDim)})
	}
	for _, id := range []struct {
		key string
		v   int64
	}{{"tokenizer.ggml.bos_token_id", v.BOS}, {"tokenizer.ggml.eos_token_id", v.EOS}, {"tokenizer.ggml.padding_token_id", v.PAD}} {
		if id.v >= 0 {
			kvs = append(kvs, KV{id.key, uint32(id.v)})
		}
	}
	if v.AddBOS != nil {
		kvs = append(kvs, KV{"tokenizer.ggml.add_bos_token", *v.AddBOS})
	}
	if v.ChatTemplate != "" {
		kvs = append(kvs, KV{"tokenizer.chat_template", v.ChatTemplate})
	}
	return kvs
}

// ggufName maps a Hugging Face Qwen2 tensor name to llama.cpp's.
func ggufName(hf string) (string, bool) {
	switch hf {
	case "model.embed_tokens.weight":
		return "token_embd.weight", true
	case "model.norm.weight":
		return "output_norm.weight", true
	case "lm_head.weight":
		return "output.weight", true
	}
	var layer int
	var rest string
	if _, err := fmt.Sscanf(hf, "model.layers.%d.", &layer); err != nil {
		return "", false
	}
	rest = hf[len(fmt.Sprintf("model.layers.%d.", layer)):]
	parts := map[string]string{
		"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
		"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
		"mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
	}
	dot := strings.LastIndexByte(rest, '.')
	p, ok := parts[rest[:dot]]
	if !ok {
		return "", false
	}
	return fmt.Sprintf("blk.%d.%s%s", layer, p, rest[dot:]), true
}

// tensorsFor lays out the tensors in llama.cpp's order (embedding, blocks,
// output norm, output) with their types: 1-D tensors F32; matrices the
// requested type (Q4_0 keeps the embedding and output Q8_0), or F16 when a
// Q8_0/Q4_0 row does not split into whole blocks
// (as convert_hf_to_gguf.py falls back).
func tensorsFor(ws []quant.Weight, typ Type) ([]Tensor, map[string]int) {
	types := map[string]int{}
	var ts []Tensor
	for _, w := range ws {
		name, ok := ggufName(w.Name)
		if !ok {
			panic("gguf: no llama.cpp name for " + w.Name) // ReadWeights returns only layout names
		}
		t := typ
		if t == Q4_0 && (name == "token_embd.weight" || name == "output.weight") {
			t = Q8_0 // as medqa's int4 keeps the embedding and LM head int8
		}
		if len(w.Shape) == 1 {
			t = F32
		} else if (t == Q8_0 || t == Q4_0) && w.Shape[len(w.Shape)-1]%QK8_0 != 0 {
			t = F16
		}
		data := w.Data
		enc := map[Type]func([]float32) []byte{F32: encodeF32, F16: encodeF16, Q8_0: encodeQ8_0, Q4_0: encodeQ4_0}[t]
		ts = append(ts, Tensor{Name: name, Shape: w.Shape, Type: t, Data: func() ([]byte, error) { return enc(data), nil }})
		types[t.String()]++
	}
	return ts, types
}
