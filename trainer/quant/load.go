package quant

import (
	"fmt"
	"path/filepath"

	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// Load reads a quantized model directory into a qwen2.Model whose weights
// are the dequantized values in dtype dt on dev: the file is small, the
// running model is the ordinary one (every op, KV cache and LoRA adapter
// works unchanged).
func Load(dir string, dt torch.DType, dev torch.Device) (*qwen2.Model, error) {
	qc, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	if qc == nil {
		return nil, fmt.Errorf("%s: config.json has no quantization_config; not a quantized model (use qwen2.Load)", filepath.Join(dir, "config.json"))
	}
	c, ws, err := ReadWeights(dir)
	if err != nil {
		return nil, err
	}
	return build(c, ws, dt, dev)
}

func build(c qwen2.Config, ws []Weight, dt torch.DType, dev torch.Device) (m *qwen2.Model, err error) {
	ts := map[string]*torch.Tensor{}
	defer func() {
		if err != nil {
			for _, t := range ts {
				t.Close()
			}
		}
	}()
	defer torch.Recover(&err)
	for _, w := range ws {
		s := torch.NewScope()
		ts[w.Name] = torch.FromSlice(s, w.Data, w.Shape...).To(nil, dt, dev)
		s.Close()
	}
	return qwen2.New(c, ts, dt, dev)
}
