package qwen2

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// GenerationConfig is a model directory's generation_config.json: the
// defaults transformers' generate() would use.
type GenerationConfig struct {
	BOSTokenID        *int64   `json:"bos_token_id,omitempty"`
	EOSTokenID        IDs      `json:"eos_token_id,omitempty"`
	PadTokenID        *int64   `json:"pad_token_id,omitempty"`
	DoSample          bool     `json:"do_sample"`
	Temperature       *float64 `json:"temperature,omitempty"`
	TopK              *int     `json:"top_k,omitempty"`
	TopP              *float64 `json:"top_p,omitempty"`
	RepetitionPenalty *float64 `json:"repetition_penalty,omitempty"`
	MaxNewTokens      *int     `json:"max_new_tokens,omitempty"`
	// RAG is medqa's own key: the model answers, by default, from retrieved
	// MedQuAD passages put in its prompt (docs/retrieval.md).
	RAG bool `json:"medqa_rag,omitempty"`
}

// LoadGenerationConfig reads dir/generation_config.json; a missing file gives
// the zero config (greedy) with config.json's eos_token_id as the stop ids.
func LoadGenerationConfig(dir string, c Config) (GenerationConfig, error) {
	path := filepath.Join(dir, "generation_config.json")
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return GenerationConfig{EOSTokenID: c.EOSTokenID, BOSTokenID: c.BOSTokenID}, nil
	}
	if err != nil {
		return GenerationConfig{}, err
	}
	var g GenerationConfig
	if err := json.Unmarshal(raw, &g); err != nil {
		return GenerationConfig{}, fmt.Errorf("%s: %v", path, err)
	}
	if len(g.EOSTokenID) == 0 {
		g.EOSTokenID = c.EOSTokenID
	}
	return g, nil
}

// Options turns the file's defaults into generation options (greedy unless do_sample).
// Its StopIDs are the file's eos ids alone, as transformers reads them; the tools stop
// at modeldir.StopIDs, which adds the chat turn's end.
func (g GenerationConfig) Options() GenerateOptions {
	o := GenerateOptions{MaxNewTokens: 512, StopIDs: g.EOSTokenID}
	if g.MaxNewTokens != nil {
		o.MaxNewTokens = *g.MaxNewTokens
	}
	if g.RepetitionPenalty != nil {
		o.RepetitionPenalty = *g.RepetitionPenalty
	}
	if !g.DoSample {
		return o
	}
	o.Temperature = 1
	if g.Temperature != nil {
		o.Temperature = *g.Temperature
	}
	o.TopK = 50 // transformers' default
	if g.TopK != nil {
		o.TopK = *g.TopK
	}
	o.TopP = 1
	if g.TopP != nil {
		o.TopP = *g.TopP
	}
	return o
}
