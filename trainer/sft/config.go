// Package sft is medqa's supervised fine-tuning loop: LoRA (or full) training
// of a qwen2.Model on tokenized chat examples, with AdamW, warmup and decay,
// gradient accumulation and clipping, validation, atomic checkpoints that
// resume bit for bit on the CPU, and JSON-line events for the server.
//
// The entry points: Defaults gives a Config with the trainer's defaults;
// LoadData tokenizes a split directory (train.jsonl, validation.jsonl) and
// NewDataset builds one from examples in memory; Run trains, writing
// checkpoints, the adapter (or the full model through modeldir.Write) and
// runspec.Event lines; HasCheckpoint and CheckpointConfig let a caller decide
// whether to resume.
package sft

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"medqa/trainer/lora"
)

// Config is everything that defines a run. Its JSON names are the CLI flag
// names with '_' for '-', so a resumed run can tell which flags disagree with
// its checkpoint.
type Config struct {
	Model      string `json:"model"`       // base model directory (Hugging Face layout)
	InitConfig string `json:"init_config"` // or a config.json to start from random weights (needs Full)
	Data       string `json:"data"`        // split directory with train.jsonl and validation.jsonl
	Out        string `json:"out"`         // run directory
	Tokenizer  string `json:"tokenizer"`   // tokenizer directory ("": the model's, else the embedded Qwen2.5)
	Template   string `json:"template"`    // chat template name ("": the tokenizer's)

	MaxSteps int     `json:"max_steps"` // optimizer steps; 0: from Epochs
	Epochs   float64 `json:"epochs"`    // used when MaxSteps is 0

	Full          bool    `json:"full"` // train every weight instead of adapters
	LoraR         int     `json:"lora_r"`
	LoraAlpha     float64 `json:"lora_alpha"`
	LoraDropout   float64 `json:"lora_dropout"`
	TargetModules string  `json:"target_modules"` // "all-linear" or e.g. "q_proj,v_proj"
	UseRSLoRA     bool    `json:"use_rslora"`

	LR          float64 `json:"lr"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	WeightDecay float64 `json:"weight_decay"`
	Schedule    string  `json:"schedule"` // cosine, linear or constant (after warmup)
	WarmupSteps int     `json:"warmup_steps"`
	WarmupRatio float64 `json:"warmup_ratio"` // used when WarmupSteps is 0
	MaxGradNorm float64 `json:"max_grad_norm"`

	BatchSize     int  `json:"batch_size"`
	GradAccum     int  `json:"grad_accum"`
	MaxLength     int  `json:"max_length"`
	AllTokens     bool `json:"all_tokens"`      // learn the prompt too, not only the answer
	Packing       bool `json:"packing"`         // concatenate short examples up to MaxLength
	GroupByLength bool `json:"group_by_length"` // batch examples of similar length together
	// GradientCheckpointing recomputes each decoder layer during the backward instead of keeping
	// its activations: less memory for one more forward pass, the same gradients.
	GradientCheckpointing bool `json:"gradient_checkpointing"`

	EvalEvery       int `json:"eval_every"` // optimizer steps between validations; 0: only at the end
	EvalSamples     int `json:"eval_samples"`
	Patience        int `json:"patience"` // stop after this many validations without improvement; 0: never
	SaveEvery       int `json:"save_every"`
	KeepCheckpoints int `json:"keep_checkpoints"` // newest checkpoints kept; 0: all

	Seed      uint64 `json:"seed"`
	Device    string `json:"device"`    // auto, cpu, cuda, cuda:N
	Precision string `json:"precision"` // auto (bf16 autocast on CUDA, f32 on CPU), f32 or bf16
	Threads   int    `json:"threads"`   // libtorch intra-op threads; 0: all cores
	LogEvery  int    `json:"log_every"` // step events every N optimizer steps
}

// Defaults are the CLI defaults. The settings table the server and its form use
// (runspec.Fields) states those of the settings it exposes; a test holds them equal.
func Defaults() Config {
	return Config{Epochs: 1, LoraR: 16, LoraAlpha: 32, LoraDropout: 0.05, TargetModules: "all-linear",
		LR: 2e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Schedule: "cosine", WarmupRatio: 0.03, MaxGradNorm: 1,
		BatchSize: 8, GradAccum: 1, MaxLength: 512, GroupByLength: true, EvalEvery: 100, SaveEvery: 100,
		KeepCheckpoints: 3, Seed: 42, Device: "auto", Precision: "auto", LogEvery: 1}
}

// Adjustable are the fields a resumed run may change: they decide what is
// observed and kept, or how much memory the same computation takes, not what is computed.
var Adjustable = []string{"eval_every", "eval_samples", "patience", "save_every", "keep_checkpoints", "threads", "log_every",
	"gradient_checkpointing"}

// Validate reports the first unusable field by its flag name.
func (c Config) Validate() error {
	bad := func(flag string, v any, why string) error { return fmt.Errorf("--%s %v: %s", flag, v, why) }
	switch {
	case c.Out == "":
		return fmt.Errorf("--out is required")
	case c.Data == "":
		return fmt.Errorf("--data is required")
	case c.Model == "" && c.InitConfig == "":
		return fmt.Errorf("--model (or --init-config with --full) is required")
	case c.Model != "" && c.InitConfig != "":
		return fmt.Errorf("--model and --init-config exclude each other")
	case c.InitConfig != "" && !c.Full:
		return fmt.Errorf("--init-config starts from random weights, which only --full training can fit")
	case c.MaxSteps < 0:
		return bad("max-steps", c.MaxSteps, "must not be negative")
	case c.MaxSteps == 0 && !(c.Epochs > 0):
		return bad("epochs", c.Epochs, "must be positive when --max-steps is not given")
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return bad("lr", c.LR, "must be positive")
	case !(c.Beta1 >= 0 && c.Beta1 < 1) || !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("--beta1 %g --beta2 %g: betas must be in [0,1)", c.Beta1, c.Beta2)
	case !(c.Eps > 0):
		return bad("eps", c.Eps, "must be positive")
	case !(c.WeightDecay >= 0):
		return bad("weight-decay", c.WeightDecay, "must not be negative")
	case !slices.Contains([]string{"cosine", "linear", "constant"}, c.Schedule):
		return bad("schedule", c.Schedule, "want cosine, linear or constant")
	case c.WarmupSteps < 0 || !(c.WarmupRatio >= 0 && c.WarmupRatio < 1):
		return fmt.Errorf("--warmup-steps %d --warmup-ratio %g: want steps ≥ 0 and a ratio in [0,1)", c.WarmupSteps, c.WarmupRatio)
	case !(c.MaxGradNorm >= 0):
		return bad("max-grad-norm", c.MaxGradNorm, "must not be negative (0 turns clipping off)")
	case c.BatchSize <= 0:
		return bad("batch-size", c.BatchSize, "must be positive")
	case c.GradAccum <= 0:
		return bad("grad-accum", c.GradAccum, "must be positive")
	case c.EvalEvery < 0 || c.SaveEvery < 0 || c.Patience < 0 || c.EvalSamples < 0 || c.KeepCheckpoints < 0 || c.LogEvery < 0:
		return fmt.Errorf("--eval-every, --eval-samples, --patience, --save-every, --keep-checkpoints and --log-every must not be negative")
	case !slices.Contains([]string{"auto", "f32", "bf16"}, c.Precision):
		return bad("precision", c.Precision, "want auto, f32 or bf16")
	}
	if !c.Full {
		if _, err := c.LoRA(); err != nil {
			return err
		}
	}
	return nil
}

// LoRA is the adapter configuration the flags describe.
func (c Config) LoRA() (lora.Config, error) {
	targets, err := lora.ParseTargets(c.TargetModules)
	if err != nil {
		return lora.Config{}, fmt.Errorf("--target-modules: %v", err)
	}
	lc := lora.Config{R: c.LoraR, Alpha: c.LoraAlpha, Dropout: c.LoraDropout, Targets: targets, RSLoRA: c.UseRSLoRA,
		BaseModel: c.Model}
	if err := lc.Validate(); err != nil {
		return lora.Config{}, err
	}
	return lc, nil
}

// Differences lists the JSON names of the fields where c and o differ,
// except the Adjustable ones.
func (c Config) Differences(o Config) []string {
	a, b := c.fields(), o.fields()
	var out []string
	for k, v := range a {
		if !slices.Contains(Adjustable, k) && fmt.Sprint(v) != fmt.Sprint(b[k]) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (c Config) fields() map[string]any {
	raw, _ := json.Marshal(c)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}
