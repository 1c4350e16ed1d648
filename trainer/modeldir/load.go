package modeldir

import (
	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// Load opens any model directory the tools produce or take in, as a model of dtype dt on
// dev: a Hugging Face one (model.safetensors, or shards with their index) with qwen2.Load,
// a medqa int8/int4 one (config.json's quantization_config) with quant.Load.
func Load(dir string, dt torch.DType, dev torch.Device) (*qwen2.Model, error) {
	qc, err := quant.ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	if qc == nil {
		return qwen2.Load(dir, dt, dev)
	}
	return quant.Load(dir, dt, dev)
}
