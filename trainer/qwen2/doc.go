// Package qwen2 is medqa's one Qwen2 implementation (transformers'
// Qwen2ForCausalLM): training and serving run this same forward pass.
//
// Dimension legend (Qwen2.5-0.5B in brackets):
//
//	B   sequences in the batch
//	T   new tokens per sequence in this call (prompt length, or 1 when decoding)
//	S   keys attended to: cached tokens + T
//	H   hidden size                 [896]
//	NH  query heads                 [14]
//	KV  key/value heads (GQA)       [2]
//	D   head dimension, H/NH        [64]
//	I   MLP intermediate size       [4864]
//	V   vocabulary                  [151936]
//	L   decoder layers              [24]
//
// Weights keep Hugging Face's [out,in] layout and names. Ops panic with
// *torch.Error on failure (shape bugs, device errors); the error-returning entry
// points (Load, Generate) recover, and callers of Forward/Extend can use
// `defer torch.Recover(&err)`. A Model is not safe for concurrent use: one
// goroutine (locked to its OS thread) drives it; batch requests instead.
//
// # Loading and parameters
//
// Load(dir, dtype, device) reads a Hugging Face directory (config.json and
// model.safetensors or shards; bf16 checkpoints are converted to the run dtype).
// NewRandom(cfg, seed, dtype, device) builds random weights of a config's shape,
// New(cfg, tensors, dtype, device) wraps given tensors; m.Save(dir) and m.Close().
// LoadConfig and LoadGenerationConfig(dir, cfg).Options() read config.json and the
// generation_config.json defaults.
//
// m.Params() lists every base weight by Hugging Face name, in checkpoint order;
// m.Param(name) finds one; m.Linears() gives the decoder's seven linear layers per
// layer by module name (model.layers.0.self_attn.q_proj). A Linear{Weight, Bias,
// Adapter} computes x·Wᵀ + b, plus Scale·B·A·dropout(x) when Adapter =
// &Adapter{A [r,in], B [out,r], Scale, Dropout} is set (A and B may be float32 on
// a bf16 model; the adapter path computes in their dtype). m.Train = true enables
// adapter dropout.
//
// # Forward, caches and generation
//
// m.Forward(s, ids [B,T], attn [B,T] or nil) returns logits [B,T,V]; m.Hidden
// returns [B,T,H] and m.Logits(s, h) computes logits for chosen positions only
// (the loss needs few). Padding may be on either side: positions count real
// tokens, so a padded row equals the unpadded sequence.
//
// Caches are per sequence: c := m.NewCache(); m.Extend(s, caches, ids [B,T])
// appends to caches of any lengths; m.Step(caches, [][]int64) returns last-token
// logits per sequence. That is continuous batching: prefill one request, then
// batch all active requests' decode steps.
//
// m.Generate(ctx, prompt, opts) and m.GenerateBatch(ctx, prompts, opts) take
// GenerateOptions{Sampling{Temperature, TopK, TopP, RepetitionPenalty, Seed},
// MaxNewTokens, StopIDs, OnToken(seq, id) error}; ctx cancels. Results carry
// Tokens, Reason (stop, length, cancelled) and StopID. NewSampler(sampling,
// stream) is the per-sequence sampler on its own.
//
// docs/model.md describes the checks against transformers and the verbs that
// use this package.
package qwen2
