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

// LoadFloat opens dir as a model whose every weight is a dense tensor of dtype
// dt on dev: a Hugging Face directory as Load opens it, a medqa int8/int4 one
// dequantized (w = (q - zero)·scale, exactly as its packed products compute).
// Merging an adapter needs it, since the merge adds to the weights.
func LoadFloat(dir string, dt torch.DType, dev torch.Device) (m *qwen2.Model, err error) {
	if !quant.IsQuantized(dir) {
		return qwen2.Load(dir, dt, dev)
	}
	c, ws, err := quant.ReadWeights(dir)
	if err != nil {
		return nil, err
	}
	ts := map[string]*torch.Tensor{}
	defer func() {
		if err != nil {
			for _, t := range ts {
				t.Close()
			}
		}
	}()
	defer torch.Recover(&err)
	for i, w := range ws {
		host := torch.FromSlice(nil, w.Data, w.Shape...)
		ts[w.Name] = host.To(nil, dt, dev)
		host.Close()     // a new handle either way; an aliased storage lives on in ts
		ws[i].Data = nil // one float copy of the model at a time, not two
	}
	return qwen2.New(c, ts, dt, dev)
}
