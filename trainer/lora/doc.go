// Package lora attaches low-rank adapters to a qwen2.Model, reads and writes
// them in the Hugging Face PEFT layout, and merges them into the base weights.
//
// An adapter on a linear layer W [out,in] is A [r,in] and B [out,r]; the layer
// computes x·Wᵀ + scale·(dropout(x)·Aᵀ)·Bᵀ with scale = alpha/r (alpha/√r with
// rsLoRA). The qwen2.Linear type carries the adapter; this package decides
// where adapters go, how they start, and how they are stored.
//
//   - Attach(m, Config{R, Alpha, Dropout, Targets, RSLoRA, BaseModel}, seed, dtype)
//     puts fresh adapters on m's linear layers; ParseTargets("all-linear") or
//     ParseTargets("q_proj,v_proj") names them; Params(m) lists the A and B
//     tensors by their PEFT names.
//   - Save(dir, m, cfg), Load(dir, m, dtype) (cfg, error) and ReadConfig(dir) use
//     PEFT's adapter_config.json and adapter_model.safetensors (docs/training.md
//     lists the fields).
//   - Merge(m) folds W + scale·B·A into the base weights in float32; Detach(m)
//     removes the adapters.
//
// To evaluate an adapter without merging it: qwen2.Load(base), then
// Load(adapterDir, m, torch.Float32).
package lora
