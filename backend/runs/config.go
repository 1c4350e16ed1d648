package runs

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Config is a training run's hyperparameters, as POST /api/runs takes them. Names follow
// the trainer's flags (`trainer train --help`).
type Config struct {
	BaseModel     string   `json:"base_model"`     // Hugging Face model directory to fine-tune
	Data          string   `json:"data"`           // split directory from `trainer data`
	LoRARank      int      `json:"lora_r"`         // default 16
	LoRAAlpha     float64  `json:"lora_alpha"`     // default 32
	LoRADropout   *float64 `json:"lora_dropout"`   // default 0.05
	TargetModules []string `json:"target_modules"` // default ["all-linear"]
	Full          bool     `json:"full"`           // train all weights instead of LoRA
	LR            float64  `json:"lr"`             // default 2e-4
	Epochs        float64  `json:"epochs"`         // one of epochs and max_steps; default 1 epoch
	MaxSteps      int      `json:"max_steps"`      //
	BatchSize     int      `json:"batch_size"`     // default 8
	GradAccum     int      `json:"grad_accum"`     // default 1
	MaxLength     int      `json:"max_length"`     // default 512
	EvalEvery     int      `json:"eval_every"`     // 0: the trainer's default
	SaveEvery     int      `json:"save_every"`     // 0: the trainer's default
	Seed          *int64   `json:"seed"`           // default 42
	// Pipeline lists the stages after training, in order: any of "evaluate", "merge",
	// "quantize" (quantize needs merge). Default: all three (none for a full run).
	Pipeline     []string `json:"pipeline"`
	QuantizeBits int      `json:"quantize_bits"` // 8 or 4; default 8
}

// FieldError names a bad field of a request body.
type FieldError struct {
	Field string `json:"field"`
	Msg   string `json:"message"`
}

// ValidationError lists every problem with a Config at once.
type ValidationError []FieldError

func (v ValidationError) Error() string {
	var b strings.Builder
	for i, f := range v {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", f.Field, f.Msg)
	}
	return b.String()
}

var stageOrder = []string{"evaluate", "merge", "quantize"}

var targetOK = regexp.MustCompile(`^(all-linear|[a-z][a-z0-9_]*)$`)

// Normalize fills defaults and validates; the error is a ValidationError.
func (c *Config) Normalize() error {
	var errs ValidationError
	bad := func(field, format string, a ...any) {
		errs = append(errs, FieldError{field, fmt.Sprintf(format, a...)})
	}
	dir := func(field, path string) {
		if path == "" {
			bad(field, "required")
		} else if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			bad(field, "%q is not a directory on the server", path)
		}
	}
	dir("base_model", c.BaseModel)
	dir("data", c.Data)
	if c.LoRARank == 0 {
		c.LoRARank = 16
	}
	if c.LoRARank < 1 || c.LoRARank > 1024 {
		bad("lora_r", "must be within [1, 1024]")
	}
	if c.LoRAAlpha == 0 {
		c.LoRAAlpha = 32
	}
	if !(c.LoRAAlpha > 0 && c.LoRAAlpha <= 4096) {
		bad("lora_alpha", "must be within (0, 4096]")
	}
	if c.LoRADropout == nil {
		d := 0.05
		c.LoRADropout = &d
	}
	if d := *c.LoRADropout; !(d >= 0 && d < 1) {
		bad("lora_dropout", "must be within [0, 1)")
	}
	if len(c.TargetModules) == 0 {
		c.TargetModules = []string{"all-linear"}
	}
	for i, t := range c.TargetModules {
		if !targetOK.MatchString(t) {
			bad(fmt.Sprintf("target_modules[%d]", i), "%q is not a module name", t)
		}
	}
	if c.LR == 0 {
		c.LR = 2e-4
	}
	if !(c.LR > 0 && c.LR < 1) {
		bad("lr", "must be within (0, 1)")
	}
	switch {
	case c.Epochs != 0 && c.MaxSteps != 0:
		bad("max_steps", "give epochs or max_steps, not both")
	case c.Epochs == 0 && c.MaxSteps == 0:
		c.Epochs = 1
	}
	if c.Epochs < 0 || c.Epochs > 1000 {
		bad("epochs", "must be within (0, 1000]")
	}
	if c.MaxSteps < 0 {
		bad("max_steps", "must be > 0")
	}
	def := func(v *int, d int, field string, hi int) {
		if *v == 0 {
			*v = d
		}
		if *v < 0 || *v > hi {
			bad(field, "must be within [1, %d]", hi)
		}
	}
	def(&c.BatchSize, 8, "batch_size", 4096)
	def(&c.GradAccum, 1, "grad_accum", 1024)
	def(&c.MaxLength, 512, "max_length", 32768)
	if c.EvalEvery < 0 {
		bad("eval_every", "must be >= 0")
	}
	if c.SaveEvery < 0 {
		bad("save_every", "must be >= 0")
	}
	if c.Seed == nil {
		s := int64(42)
		c.Seed = &s
	}
	if c.Pipeline == nil && !c.Full {
		c.Pipeline = slices.Clone(stageOrder)
	}
	if c.Full && len(c.Pipeline) > 0 {
		bad("pipeline", "a full (non-LoRA) run has no adapter to evaluate or merge; leave pipeline empty")
	}
	last := -1
	for i, s := range c.Pipeline {
		k := slices.Index(stageOrder, s)
		switch {
		case k < 0:
			bad(fmt.Sprintf("pipeline[%d]", i), "%q is not a stage (evaluate, merge, quantize)", s)
		case k <= last:
			bad(fmt.Sprintf("pipeline[%d]", i), "stages go in the order evaluate, merge, quantize, once each")
		default:
			last = k
		}
	}
	if slices.Contains(c.Pipeline, "quantize") && !slices.Contains(c.Pipeline, "merge") {
		bad("pipeline", "quantize needs merge before it")
	}
	if c.QuantizeBits == 0 {
		c.QuantizeBits = 8
	}
	if c.QuantizeBits != 8 && c.QuantizeBits != 4 {
		bad("quantize_bits", "must be 8 or 4")
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// stages is the run's whole pipeline.
func (c *Config) stages() []string { return append([]string{"train"}, c.Pipeline...) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Args is the trainer command line for one stage of the run in dir. The flag names are the
// trainer's (issue 6); this is the one place that knows them.
func (c *Config) Args(stage, dir string, resume bool) []string {
	adapter := dir + "/adapter"
	switch stage {
	case "train":
		a := []string{"train", "--model", c.BaseModel, "--data", c.Data, "--out", dir,
			"--lr", ftoa(c.LR), "--batch-size", strconv.Itoa(c.BatchSize), "--grad-accum", strconv.Itoa(c.GradAccum),
			"--max-length", strconv.Itoa(c.MaxLength), "--seed", strconv.FormatInt(*c.Seed, 10)}
		if c.MaxSteps > 0 {
			a = append(a, "--max-steps", strconv.Itoa(c.MaxSteps))
		} else {
			a = append(a, "--epochs", ftoa(c.Epochs))
		}
		if c.Full {
			a = append(a, "--full")
		} else {
			a = append(a, "--lora-r", strconv.Itoa(c.LoRARank), "--lora-alpha", ftoa(c.LoRAAlpha),
				"--lora-dropout", ftoa(*c.LoRADropout), "--target-modules", strings.Join(c.TargetModules, ","))
		}
		if c.EvalEvery > 0 {
			a = append(a, "--eval-every", strconv.Itoa(c.EvalEvery))
		}
		if c.SaveEvery > 0 {
			a = append(a, "--save-every", strconv.Itoa(c.SaveEvery))
		}
		if resume {
			a = append(a, "--resume")
		}
		return a
	case "evaluate":
		return []string{"eval", "--model", c.BaseModel, "--adapter", adapter, "--data", c.Data, "--out", dir + "/eval"}
	case "merge":
		return []string{"merge", "--model", c.BaseModel, "--adapter", adapter, "--out", dir + "/merged"}
	case "quantize":
		return []string{"quantize", "--model", dir + "/merged", "--out", dir + "/" + quantDir(c.QuantizeBits), "--bits", strconv.Itoa(c.QuantizeBits)}
	}
	panic("runs: unknown stage " + stage)
}

func quantDir(bits int) string { return "int" + strconv.Itoa(bits) }
