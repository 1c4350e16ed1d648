package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"medqa/trainer/modeldir"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

func init() {
	register("logits", "print a model's logits for token ids as JSON", runLogits)
}

// runLogits prints {"logits": [[...], ...]}: one row of V logits per position.
func runLogits(args []string) (err error) {
	fs := flag.NewFlagSet("logits", flag.ContinueOnError)
	model := fs.String("model", "", "Hugging Face model directory (config.json + *.safetensors)")
	idList := fs.String("ids", "", "comma-separated token ids, e.g. 0,7,2,9")
	dtype := fs.String("dtype", "f32", "run dtype: f32, bf16, f16 or f64")
	device := fs.String("device", "cpu", "cpu, cuda or cuda:N")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" || *idList == "" {
		return errors.New("--model and --ids are required")
	}
	ids, err := parseIDs(*idList)
	if err != nil {
		return err
	}
	m, err := loadModel(*model, *dtype, *device)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.CheckIDs(ids); err != nil {
		return fmt.Errorf("--ids: %w", err)
	}
	defer torch.Recover(&err)
	var rows [][]float64
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		x := torch.FromSlice(s, ids, 1, int64(len(ids))).To(s, torch.Int64, m.Device)
		flat := torch.ToSlice[float64](m.Forward(s, x, nil))
		V := m.Config.VocabSize
		for i := range ids {
			rows = append(rows, flat[i*V:(i+1)*V])
		}
	})
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"logits": rows})
}

func parseIDs(s string) ([]int64, error) {
	var ids []int64
	for i, f := range strings.Split(s, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--ids: item %d (%q) is not an integer", i+1, f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func loadModel(dir, dtype, device string) (*qwen2.Model, error) {
	dt, dev, err := parseRuntime(dtype, device)
	if err != nil {
		return nil, err
	}
	return modeldir.Load(dir, dt, dev) // a Hugging Face directory or a medqa int8/int4 one
}

// parseRuntime reads the --dtype and --device flags (torch.ParseRuntime), naming the flag
// that is wrong.
func parseRuntime(dtype, device string) (torch.DType, torch.Device, error) {
	dt, dev, err := torch.ParseRuntime(dtype, device)
	if re, ok := err.(*torch.RuntimeError); ok {
		return dt, dev, fmt.Errorf("--%s: %w", re.Setting, re.Err)
	}
	return dt, dev, err
}
