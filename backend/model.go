package main

import (
	"context"
	"log/slog"
	"time"

	"medqa/backend/engine"
	"medqa/backend/engine/fakemodel"
	"medqa/backend/server"
)

// defaultModelDir is the embedded default model (issue 9).
const defaultModelDir = "assets/model"

// loadModel turns a model directory (plus an optional PEFT adapter) into a servable
// bundle; activation from the admin API calls it too.
//
// ┌──────────────────────────────────────────────────────────────────────────────────────┐
// │ LEAD: WIRE THE REAL MODEL HERE. Replace the body with an adapter file (model_qwen2.go) │
// │ that loads trainer/qwen2 (+ LoRA / quantized weights), wasm/tokenizer and wasm/chat and │
// │ returns engine.Bundle{Name, Model, Tokenizer, Render, Stop, Context, Sampling, Close}.  │
// │ The interfaces to implement are in backend/engine/model.go.                             │
// └──────────────────────────────────────────────────────────────────────────────────────┘
var loadModel server.ModelLoader = func(ctx context.Context, name, dir, adapter string) (engine.Bundle, error) {
	slog.Warn("NO REAL MODEL IS WIRED: serving the FAKE model, which answers every question with a fixed text",
		"requested", dir, "adapter", adapter)
	_, b := fakemodel.New(name+" (fake)", fakeReply, 15*time.Millisecond)
	return b, nil
}

const fakeReply = "This is medqa's placeholder model: the real Qwen2 model is not wired into the server yet. " +
	"medqa is a research project; its answers are not medical advice."
