package eval

import (
	"fmt"
	"path/filepath"

	"medqa/trainer/modeldir"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// AdapterLoader attaches the PEFT adapter in dir to m (lora.Load fits).
type AdapterLoader func(dir string, m *qwen2.Model, dt torch.DType) error

// Target is one model under evaluation with the tokenizer and template it
// answers with.
type Target struct {
	Label   string
	Dir     string
	Adapter string
	Model   *qwen2.Model
	Tok     *tokenizer.Tokenizer
	Tmpl    *chat.Template
	Gen     qwen2.GenerationConfig
	// TokenizerSource says where Tok came from ("model directory" or the embedded default).
	TokenizerSource string
}

// Open loads a model directory (Hugging Face or quantized), attaches the
// adapter if one is given, and finds its tokenizer: the model directory's
// own files, else the embedded Qwen2.5 tokenizer.
func Open(dir, adapter string, load AdapterLoader, dt torch.DType, dev torch.Device) (*Target, error) {
	m, err := modeldir.Load(dir, dt, dev)
	if err != nil {
		return nil, err
	}
	t := &Target{Dir: dir, Adapter: adapter, Model: m}
	if adapter != "" {
		if load == nil {
			m.Close()
			return nil, fmt.Errorf("--adapter %s: this build has no adapter loader", adapter)
		}
		if err := load(adapter, m, dt); err != nil {
			m.Close()
			return nil, err
		}
	}
	if t.Gen, err = qwen2.LoadGenerationConfig(dir, m.Config); err != nil {
		m.Close()
		return nil, err
	}
	if t.Tok, t.Tmpl, t.TokenizerSource, err = modeldir.Tokenizer(dir); err != nil {
		m.Close()
		return nil, err
	}
	t.Label = filepath.Base(filepath.Clean(dir))
	if adapter != "" {
		t.Label += "+" + filepath.Base(filepath.Clean(adapter))
	}
	return t, nil
}

// StopIDs are the ids that end an answer (modeldir.StopIDs: the same set serving uses).
func (t *Target) StopIDs() []int64 { return modeldir.StopIDs(t.Tok, t.Gen, t.Model.Config.VocabSize) }

// Close frees the model.
func (t *Target) Close() { t.Model.Close() }
