package testkit

import "encoding/json"

// Shape is the size of a Qwen2 model for tests, as the config.json fields
// that set it. The model tests start from one of the shapes below and
// change only the fields that matter to them, saying why; qwen2test turns
// a shape into a model (trainer/qwen2's own tests parse ConfigJSON, since
// they cannot import qwen2test).
type Shape struct {
	Hidden       int     `json:"hidden_size"`
	Intermediate int     `json:"intermediate_size"`
	Layers       int     `json:"num_hidden_layers"`
	Heads        int     `json:"num_attention_heads"`
	KVHeads      int     `json:"num_key_value_heads"`
	Vocab        int     `json:"vocab_size"`
	MaxPositions int     `json:"max_position_embeddings"`
	RopeTheta    float64 `json:"rope_theta"`
	Tied         bool    `json:"tie_word_embeddings"`
	BOS          *int64  `json:"bos_token_id,omitempty"`
	EOS          []int64 `json:"eos_token_id,omitempty"`
}

var (
	// Toy is Qwen2-shaped (biased q/k/v, 2:1 grouped-query attention, tied
	// embeddings) and small enough to train in milliseconds on made-up
	// token ids below 32.
	Toy = Shape{Hidden: 32, Intermediate: 64, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 32, MaxPositions: 128,
		RopeTheta: 1e4, Tied: true}

	// QwenVocab has Qwen2.5's whole vocabulary and end-of-text token, so
	// that the real tokenizer drives it; everything else is tiny. Its
	// 151,936-row embedding makes it ~20 MB of f32.
	QwenVocab = Shape{Hidden: 32, Intermediate: 64, Layers: 2, Heads: 2, KVHeads: 1, Vocab: 151936, MaxPositions: 1024,
		RopeTheta: 1e6, Tied: true, EOS: []int64{151643}}

	// Small is Qwen2.5-0.5B where the kernels care (tied embeddings, 7:1
	// grouped-query attention, head dimension 64, rope theta 1e6) at a
	// size the parity tests run in a moment.
	Small = Shape{Hidden: 448, Intermediate: 512, Layers: 2, Heads: 7, KVHeads: 1, Vocab: 300, MaxPositions: 4096,
		RopeTheta: 1e6, Tied: true}

	// Qwen25 is Qwen2.5-0.5B's own shape (2 GB of f32): benchmarks only.
	Qwen25 = Shape{Hidden: 896, Intermediate: 4864, Layers: 24, Heads: 14, KVHeads: 2, Vocab: 151936, MaxPositions: 32768,
		RopeTheta: 1e6, Tied: true}
)

// ConfigJSON is the shape as a Hugging Face Qwen2 config.json: the fields
// above plus the ones every Qwen2 has (model type, silu, rms_norm_eps 1e-6).
func (s Shape) ConfigJSON() []byte {
	type fixed struct {
		Architectures []string `json:"architectures"`
		ModelType     string   `json:"model_type"`
		HiddenAct     string   `json:"hidden_act"`
		RMSNormEps    float64  `json:"rms_norm_eps"`
	}
	b, err := json.Marshal(struct {
		fixed
		Shape
	}{fixed{[]string{"Qwen2ForCausalLM"}, "qwen2", "silu", 1e-6}, s})
	if err != nil {
		panic(err) // plain numbers and strings always encode
	}
	return b
}
