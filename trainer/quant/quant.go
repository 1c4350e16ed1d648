// Package quant stores Qwen2 models with int8 or int4 weights and loads them
// back into the one inference path (qwen2.Model) with the weights still
// packed: on the CPU in float32, trainer/qkernel multiplies the stored bytes;
// elsewhere each matrix is dequantized just before its product (see Load).
//
// # On-disk format (format_version 1)
//
// A quantized model is a Hugging Face layout directory: config.json,
// generation_config.json and the tokenizer files, as in the source, plus one
// weights file, model.q8.safetensors (--bits 8) or model.q4.safetensors
// (--bits 4). config.json gains
//
//	"quantization_config": {"quant_method": "medqa", "format_version": 1,
//	                        "bits": 4, "group_size": 32, "weights": "model.q4.safetensors"}
//
// (transformers refuses the unknown quant_method rather than misreading the
// file). For each Hugging Face weight name N of the checkpoint, the weights
// file holds one of three encodings; which one is told by the names present:
//
//	float:  N          F32 [...]             norms and biases (a few KiB)
//	int8:   N.q8       I8  [out,in]          w = q8·scale, per output channel,
//	        N.scale    F32 [out]             symmetric, q in [-127,127]
//	int4:   N.q4       U8  [out,in/2]        w = (q-zero)·scale, per group of
//	        N.scale    F16 [out,in/group]    group_size inputs of a row; codes
//	        N.zero     U8  [out,in/group]    packed low nibble first, zero in [0,15]
//
// With --bits 8 every matrix is int8. With --bits 4 the decoder's linear
// layers are int4, while the token embedding (and an untied lm_head) stay
// int8 per row: they are the most quantization-sensitive matrices, and a
// row of [V,H] is both a token's embedding and an output channel of the tied
// head. A linear layer whose input size is not a multiple of group_size also
// falls back to int8. Every element satisfies |w - dequantized| <= scale/2.
// The safetensors metadata repeats format, bits and group_size.
package quant

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Method is config.json's quantization_config.quant_method for this format.
const Method = "medqa"

// FormatVersion is the on-disk format version written and accepted.
const FormatVersion = 1

// Config is config.json's quantization_config.
type Config struct {
	QuantMethod   string `json:"quant_method"`
	FormatVersion int    `json:"format_version"`
	Bits          int    `json:"bits"`
	GroupSize     int    `json:"group_size,omitempty"`
	Weights       string `json:"weights"`
}

// WeightsFile is the weights file name for bits.
func WeightsFile(bits int) string { return fmt.Sprintf("model.q%d.safetensors", bits) }

// Check validates a quantization_config read from path.
func (c Config) Check(path string) error {
	switch {
	case c.QuantMethod != Method:
		return fmt.Errorf("%s: quantization_config.quant_method is %q; medqa reads only %q", path, c.QuantMethod, Method)
	case c.FormatVersion != FormatVersion:
		return fmt.Errorf("%s: quantization_config.format_version is %d; this build reads %d", path, c.FormatVersion, FormatVersion)
	case c.Bits != 8 && c.Bits != 4:
		return fmt.Errorf("%s: quantization_config.bits is %d, want 8 or 4", path, c.Bits)
	case c.Bits == 4 && c.GroupSize != 32 && c.GroupSize != 64:
		return fmt.Errorf("%s: quantization_config.group_size is %d, want 32 or 64", path, c.GroupSize)
	case c.Weights != WeightsFile(c.Bits):
		return fmt.Errorf("%s: quantization_config.weights is %q, want %q", path, c.Weights, WeightsFile(c.Bits))
	}
	return nil
}

// ReadConfig returns dir's quantization_config, or nil when config.json has
// none (a plain Hugging Face model).
func ReadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c struct {
		Q *Config `json:"quantization_config"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if c.Q == nil {
		return nil, nil
	}
	if err := c.Q.Check(path); err != nil {
		return nil, err
	}
	return c.Q, nil
}

// IsQuantized reports whether dir's config.json declares a medqa quantization.
func IsQuantized(dir string) bool {
	c, err := ReadConfig(dir)
	return err == nil && c != nil
}
