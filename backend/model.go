package main

import (
	"context"
	"os"

	"medqa/assets"
	"medqa/backend/engine"
	"medqa/backend/server"
)

// loadModel turns a model directory (plus an optional PEFT adapter) into a servable bundle:
// at start and when the admin page activates a model. See model_qwen2.go.
var loadModel = server.RecoverLoad(loadQwen2) // a panic at start-up is an error, not a crash

// defaultModelName is how clients see the default model.
const defaultModelName = "medqa-default"

// loadDefaultModel serves assets/model (`make default-model`): from the repository when the
// server runs there, else the copy embedded in the binary, written to a temporary folder for
// the loaders (which read paths) and removed once loaded: the weights are copied into memory.
func loadDefaultModel(ctx context.Context) (engine.Bundle, error) {
	if fi, err := os.Stat(assets.DefaultModelDir); err == nil && fi.IsDir() {
		return loadModel(ctx, defaultModelName, assets.DefaultModelDir, "")
	}
	dir, err := os.MkdirTemp("", "medqa-default-model-")
	if err != nil {
		return engine.Bundle{}, err
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, assets.DefaultModel()); err != nil {
		return engine.Bundle{}, err
	}
	return loadModel(ctx, defaultModelName, dir, "")
}
