package qwen2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Config is the part of a Hugging Face Qwen2 config.json that the forward pass
// uses. Missing fields take transformers' Qwen2Config defaults.
type Config struct {
	Architectures         []string `json:"architectures,omitempty"`
	ModelType             string   `json:"model_type"`
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	NumKeyValueHeads      int      `json:"num_key_value_heads"`
	HeadDim               int      `json:"head_dim,omitempty"` // 0: hidden_size / num_attention_heads
	VocabSize             int      `json:"vocab_size"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	RopeTheta             float64  `json:"rope_theta"`
	TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
	HiddenAct             string   `json:"hidden_act"`
	BOSTokenID            *int64   `json:"bos_token_id,omitempty"`
	EOSTokenID            IDs      `json:"eos_token_id,omitempty"`
	TorchDType            string   `json:"torch_dtype,omitempty"`
	UseSlidingWindow      bool     `json:"use_sliding_window"`
	RopeScaling           any      `json:"rope_scaling"`
}

// IDs is a token id or a list of them (config.json allows both for eos_token_id).
type IDs []int64

func (ids *IDs) UnmarshalJSON(b []byte) error {
	var one int64
	if err := json.Unmarshal(b, &one); err == nil {
		*ids = IDs{one}
		return nil
	}
	var many []int64
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a token id or a list of them, got %s", b)
	}
	*ids = many
	return nil
}

// Head is the per-head dimension D.
func (c Config) Head() int {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	return c.HiddenSize / c.NumAttentionHeads
}

// LoadConfig reads and validates dir/config.json.
func LoadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(path, raw)
}

// ParseConfig parses config.json bytes; name is used in errors.
func ParseConfig(name string, raw []byte) (Config, error) {
	c := Config{ModelType: "qwen2", HiddenSize: 4096, IntermediateSize: 22016, NumHiddenLayers: 32,
		NumAttentionHeads: 32, VocabSize: 151936, MaxPositionEmbeddings: 32768, RMSNormEps: 1e-6,
		RopeTheta: 10000, HiddenAct: "silu"}
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%s: %v", name, err)
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %v", name, err)
	}
	return c, nil
}

// Validate reports the first field that the forward pass cannot honour.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"num_key_value_heads", c.NumKeyValueHeads}, {"vocab_size", c.VocabSize}} {
		if f.v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", f.name, f.v)
		}
	}
	switch {
	case c.ModelType != "qwen2":
		return fmt.Errorf("model_type is %q, want \"qwen2\"", c.ModelType)
	case c.HeadDim == 0 && c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("hidden_size (%d) is not a multiple of num_attention_heads (%d)", c.HiddenSize, c.NumAttentionHeads)
	case c.NumAttentionHeads%c.NumKeyValueHeads != 0:
		return fmt.Errorf("num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)", c.NumAttentionHeads, c.NumKeyValueHeads)
	case c.Head()%2 != 0:
		return fmt.Errorf("head dimension %d must be even for rotary embeddings", c.Head())
	case c.HiddenAct != "silu":
		return fmt.Errorf("hidden_act %q is not supported (want \"silu\")", c.HiddenAct)
	case c.RMSNormEps <= 0 || c.RopeTheta <= 0:
		return fmt.Errorf("rms_norm_eps (%g) and rope_theta (%g) must be positive", c.RMSNormEps, c.RopeTheta)
	case c.RopeScaling != nil:
		return fmt.Errorf("rope_scaling %v is not supported", c.RopeScaling)
	case c.UseSlidingWindow:
		return fmt.Errorf("use_sliding_window is not supported")
	}
	return nil
}
