package lora

import (
	"errors"

	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// Merge folds every adapter into its base weight, W ← W + scale·B·A (computed
// in float32, then stored in W's dtype), and removes the adapters, leaving a
// plain model that computes what base+adapter computed without dropout.
func Merge(m *qwen2.Model) (err error) {
	if m.IsPacked() {
		return errors.New("lora: cannot merge into a quantized model; merge into the float model, then quantize it")
	}
	defer torch.Recover(&err)
	n := 0
	torch.NoGrad(func() {
		for _, nl := range m.Linears() {
			a := nl.Linear.Adapter
			if a == nil {
				continue
			}
			s := torch.NewScope()
			A := a.A.To(s, torch.Float32, m.Device)
			B := a.B.To(s, torch.Float32, m.Device)
			w := nl.Linear.Weight.To(s, torch.Float32, m.Device)
			w = w.Add(s, B.Mm(s, A).MulScalar(s, a.Scale))
			nl.Linear.Weight.Copy_(w)
			s.Close()
			a.A.Close()
			a.B.Close()
			nl.Linear.Adapter = nil
			n++
		}
	})
	if n == 0 {
		return errors.New("lora: the model has no adapters to merge")
	}
	return nil
}
