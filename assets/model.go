package assets

import (
	"embed"
	"io/fs"
)

// The default model (assets/model), trained by trainer/defaultmodel/recipe.sh:
// the files inference needs and the model card. Its evaluation report and run
// records (eval/, training_run_*.json, vocab_map.json) stay out of binaries.
//
//go:embed model/config.json model/generation_config.json model/model.q8.safetensors
//go:embed model/tokenizer.json model/tokenizer_config.json model/README.md
var modelFiles embed.FS

// DefaultModelDir is the default model's folder, relative to the repository root.
const DefaultModelDir = "assets/model"

// DefaultModel returns the default model's files (config.json, model.q8.safetensors,
// tokenizer.json, …) at the root of the returned file system. It is a function so
// that binaries that never call it (the browser module) do not carry the weights:
// the linker drops embedded data that nothing reaches.
func DefaultModel() fs.FS {
	sub, err := fs.Sub(modelFiles, "model")
	if err != nil {
		panic(err) // "model" is embedded above
	}
	return sub
}
