package sft

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"medqa/trainer/runspec"
	"medqa/trainer/torch"
)

// runInfo is RUNDIR/run.json: what was run, on what, and how it went. It is
// rewritten at the start, at the end and on failure.
type runInfo struct {
	Status          string    `json:"status"` // running, completed, early_stopped, interrupted, failed
	Config          Config    `json:"config"`
	Seed            uint64    `json:"seed"`
	Resumed         bool      `json:"resumed"`
	ResumedFrom     int       `json:"resumed_from_step,omitempty"`
	CodeVersion     string    `json:"code_version"`
	Torch           string    `json:"torch"`
	BLAS            string    `json:"blas"`
	Device          string    `json:"device"`
	Precision       string    `json:"precision"`
	Threads         int       `json:"threads"`
	TrainableParams int64     `json:"trainable_params"`
	TotalParams     int64     `json:"total_params"`
	MaxSteps        int       `json:"max_steps"`
	WarmupSteps     int       `json:"warmup_steps"`
	BatchesPerEpoch int       `json:"batches_per_epoch"`
	Data            DataStats `json:"data"`
	Started         string    `json:"started"`
	Finished        string    `json:"finished,omitempty"`
	Metrics         struct {
		Steps       int      `json:"steps"`
		Epoch       float64  `json:"epoch"`
		Loss        *float64 `json:"loss,omitempty"`
		BestValLoss *float64 `json:"best_val_loss,omitempty"`
		BestValPPL  *float64 `json:"best_val_ppl,omitempty"`
		BestStep    int      `json:"best_step,omitempty"`
		ElapsedS    float64  `json:"elapsed_s"`
		Tokens      int64    `json:"tokens"`
		TokensPerS  *float64 `json:"tokens_per_s,omitempty"`
	} `json:"metrics"`
	Output      string   `json:"output,omitempty"`
	LastValLoss *float64 `json:"last_val_loss,omitempty"`
}

func newRunInfo(r *run) runInfo {
	total := int64(0)
	for _, p := range r.m.Params() {
		total += p.Tensor.Numel()
	}
	if !r.cfg.Full {
		total += r.trainable.count()
	}
	torchVersion, _, _ := strings.Cut(torch.Version(), "\n")
	in := runInfo{Status: "running", Config: r.cfg, Seed: r.cfg.Seed, Resumed: r.options.Resume, CodeVersion: r.options.Version,
		Torch: torchVersion, BLAS: torch.BLAS(), Device: r.dev.String(), Threads: torch.NumThreads(),
		Precision:       map[bool]string{true: "bf16-autocast", false: "f32"}[r.mixed],
		TrainableParams: r.trainable.count(), TotalParams: total, MaxSteps: r.sched.total, WarmupSteps: r.sched.warmup,
		BatchesPerEpoch: r.batchesPerEpoch, Data: r.dataset.Stats, Started: r.started.UTC().Format(time.RFC3339)}
	if r.options.Resume {
		in.ResumedFrom = r.state.Step
	}
	return in
}

func (in *runInfo) finish(r *run, status, out string) {
	in.Status, in.Output = status, out
	in.Finished = time.Now().UTC().Format(time.RFC3339)
	m := &in.Metrics
	m.Steps, m.Epoch, m.Loss, m.ElapsedS, m.Tokens = r.state.Step, r.state.Epoch, runspec.Num(r.state.Loss), r.elapsed(), r.state.Tokens
	m.BestValLoss, m.BestStep = r.state.BestValLoss, r.state.BestStep
	if r.state.BestValLoss != nil {
		m.BestValPPL = runspec.Num(math.Exp(*r.state.BestValLoss))
	}
	if m.ElapsedS > 0 {
		m.TokensPerS = runspec.Num(float64(r.state.Tokens) / m.ElapsedS)
	}
}

func (in *runInfo) write(dir string) error {
	raw, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+RunFile+".tmp")
	if err := writeFileSync(tmp, append(raw, '\n')); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, RunFile))
}
