package main

import "medqa/backend/server"

// defaultModelDir is the default model that `make default-model` builds and ships (issue 9).
const defaultModelDir = "assets/model"

// loadModel turns a model directory (plus an optional PEFT adapter) into a servable bundle:
// at start and when the admin page activates a model. See model_qwen2.go.
var loadModel server.ModelLoader = loadQwen2
