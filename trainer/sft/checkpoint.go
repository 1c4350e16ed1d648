package sft

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"medqa/trainer/atomicfile"
	"medqa/trainer/safetensors"
	"medqa/trainer/torch"
)

// Checkpoint layout: RUNDIR/checkpoints/step-N/ holds
//
//	trainer_state.json      position, schedule, RNG rule, best-so-far, config
//	optimizer.safetensors   AdamW moments as <param>.exp_avg / <param>.exp_avg_sq (F32)
//	adapter/                the adapters in PEFT layout (LoRA runs), or
//	model/                  the float32 weights as a Hugging Face model (--full runs)
//
// A checkpoint is written into a hidden temporary directory and renamed into
// place, so step-N either exists whole or not at all.
const (
	checkpointsDir = "checkpoints"
	stateFile      = "trainer_state.json"
	optimizerFile  = "optimizer.safetensors"
	stateFormat    = "medqa-sft-checkpoint/1"
)

// trainerState is everything besides tensors that a resumed run needs to
// continue exactly where the checkpoint was taken.
type trainerState struct {
	Format string `json:"format"`
	Step   int    `json:"step"`
	// Micro is the number of micro-batches consumed: epoch Micro/BatchesPerEpoch,
	// batch Micro%BatchesPerEpoch of that epoch's seeded order.
	Micro           int64   `json:"micro"`
	BatchesPerEpoch int     `json:"batches_per_epoch"`
	TrainExamples   int     `json:"train_examples"`
	DataHash        string  `json:"data_hash"` // FNV-1a of the training ids and labels, in order
	Epoch           float64 `json:"epoch"`
	Loss            float64 `json:"loss"`
	LR              float64 `json:"lr"`
	MaxSteps        int     `json:"max_steps"`
	WarmupSteps     int     `json:"warmup_steps"`
	// RNG: there is no generator state to save. Epoch e's order is drawn from
	// PCG(seed, e), and libtorch's generator (adapter dropout) is reseeded with
	// mix(seed, micro) before every micro-batch, so both follow from the position.
	RNG         string           `json:"rng"`
	OptSteps    map[string]int64 `json:"optimizer_steps"`
	BestValLoss *float64         `json:"best_val_loss,omitempty"`
	BestStep    int              `json:"best_step,omitempty"`
	BadEvals    int              `json:"bad_evals"`
	ElapsedS    float64          `json:"elapsed_s"`
	Tokens      int64            `json:"tokens"`
	EventsBytes int64            `json:"events_bytes"`
	Weights     string           `json:"weights"` // "adapter" or "model"
	// WorldSize is the number of data-parallel processes (absent: 1); a resume must use as many.
	WorldSize int               `json:"world_size,omitempty"`
	Config    Config            `json:"config"`
	Extra     map[string]string `json:"extra,omitempty"`
}

const rngRule = "order: PCG(seed, epoch); torch: manual_seed(splitmix64(seed ^ micro)) per micro-batch"

// writeCheckpoint saves st, the optimizer state and the weights (written by
// saveWeights into the directory it is given) as RUNDIR/checkpoints/step-N.
func writeCheckpoint(runDir string, st trainerState, opt *optimizer, saveWeights func(dir string) error) (dir string, err error) {
	root := filepath.Join(runDir, checkpointsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, fmt.Sprintf(".step-%d.tmp-", st.Step))
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := saveWeights(filepath.Join(tmp, st.Weights)); err != nil {
		return "", err
	}
	st.OptSteps = map[string]int64{}
	var ts []safetensors.Tensor
	if err := torch.Do(func() {
		for _, s := range opt.State() {
			st.OptSteps[s.Name] = s.Step
			if s.ExpAvg == nil {
				continue
			}
			for _, e := range []struct {
				suffix string
				t      *torch.Tensor
			}{{".exp_avg", s.ExpAvg}, {".exp_avg_sq", s.ExpAvgSq}} {
				f := e.t.To(nil, torch.Float32, torch.CPU)
				ts = append(ts, safetensors.Tensor{Name: s.Name + e.suffix, DType: safetensors.F32, Shape: f.Shape(), Data: f.Bytes()})
				f.Close()
			}
		}
	}); err != nil {
		return "", err
	}
	if err := safetensors.Write(filepath.Join(tmp, optimizerFile), ts, nil); err != nil {
		return "", err
	}
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeFileSync(filepath.Join(tmp, stateFile), append(raw, '\n')); err != nil {
		return "", err
	}
	dir = filepath.Join(root, fmt.Sprintf("step-%d", st.Step))
	if err := atomicfile.PublishDir(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkpointSteps lists the steps of RUNDIR/checkpoints/step-N, ascending.
func checkpointSteps(runDir string) ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(runDir, checkpointsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var steps []int
	for _, e := range ents {
		if n, ok := strings.CutPrefix(e.Name(), "step-"); ok && e.IsDir() {
			if s, err := strconv.Atoi(n); err == nil {
				steps = append(steps, s)
			}
		}
	}
	slices.Sort(steps)
	return steps, nil
}

// latestCheckpoint reads the newest checkpoint's state. A damaged newest
// checkpoint is an error naming the file: silently resuming from an older
// one would quietly redo (and maybe diverge from) logged steps.
func latestCheckpoint(runDir string) (trainerState, string, error) {
	steps, err := checkpointSteps(runDir)
	if err != nil {
		return trainerState{}, "", err
	}
	if len(steps) == 0 {
		return trainerState{}, "", fmt.Errorf("no checkpoint under %s to resume from", filepath.Join(runDir, checkpointsDir))
	}
	dir := filepath.Join(runDir, checkpointsDir, fmt.Sprintf("step-%d", steps[len(steps)-1]))
	st, err := readState(dir)
	return st, dir, err
}

func readState(dir string) (trainerState, error) {
	path := filepath.Join(dir, stateFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return trainerState{}, fmt.Errorf("corrupt checkpoint: %v", err)
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return trainerState{}, fmt.Errorf("corrupt checkpoint %s: %v", path, err)
	}
	if st.Format != stateFormat {
		return trainerState{}, fmt.Errorf("corrupt checkpoint %s: format %q, want %q", path, st.Format, stateFormat)
	}
	if st.Weights != "adapter" && st.Weights != "model" {
		return trainerState{}, fmt.Errorf("corrupt checkpoint %s: weights %q", path, st.Weights)
	}
	return st, nil
}

// readOptimizer loads dir/optimizer.safetensors into opt, checking that
// every parameter with a step count has both moments.
func readOptimizer(dir string, st trainerState, opt *optimizer) error {
	path := filepath.Join(dir, optimizerFile)
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("corrupt checkpoint: %v", err)
	}
	defer f.Close()
	var states []torch.AdamWState
	var owned []*torch.Tensor
	defer func() {
		for _, t := range owned {
			t.Close()
		}
	}()
	err = torch.Do(func() {
		for name, step := range st.OptSteps {
			s := torch.AdamWState{Name: name, Step: step}
			if step > 0 {
				for i, suffix := range []string{".exp_avg", ".exp_avg_sq"} {
					t, terr := f.Tensor(name + suffix)
					if terr != nil || t.DType != safetensors.F32 {
						panic(&torch.Error{Msg: fmt.Sprintf("%s: missing or non-F32 tensor %q", path, name+suffix)})
					}
					tt := torch.FromBytes(nil, t.Data, torch.Float32, t.Shape, torch.CPU)
					owned = append(owned, tt)
					if i == 0 {
						s.ExpAvg = tt
					} else {
						s.ExpAvgSq = tt
					}
				}
			}
			states = append(states, s)
		}
	})
	if err != nil {
		return fmt.Errorf("corrupt checkpoint: %v", err)
	}
	if err := opt.LoadState(states); err != nil {
		return fmt.Errorf("checkpoint %s: %v", path, err)
	}
	return nil
}

// prune removes all but the newest keep checkpoints, sparing the best one.
func prune(runDir string, keep, best int) error {
	if keep <= 0 {
		return nil
	}
	steps, err := checkpointSteps(runDir)
	if err != nil {
		return err
	}
	for i, s := range steps {
		if i < len(steps)-keep && s != best {
			if err := os.RemoveAll(filepath.Join(runDir, checkpointsDir, fmt.Sprintf("step-%d", s))); err != nil {
				return err
			}
		}
	}
	return nil
}

// HasCheckpoint reports whether runDir holds a checkpoint to resume from.
func HasCheckpoint(runDir string) (bool, error) {
	steps, err := checkpointSteps(runDir)
	return len(steps) > 0, err
}

// CheckpointConfig is the configuration saved with runDir's latest checkpoint.
func CheckpointConfig(runDir string) (Config, error) {
	st, _, err := latestCheckpoint(runDir)
	return st.Config, err
}
