package runs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"medqa/trainer/runspec"
)

// Config is a training run's settings as POST /api/runs takes them. The hyperparameters are
// the settings table's (runspec.Fields: names, defaults, limits, the trainer flag each goes to);
// Pipeline and QuantizeBits are the server's own.
type Config struct {
	BaseModel     string   `json:"base_model"`
	Data          string   `json:"data"`
	LoRARank      int      `json:"lora_r"`
	LoRAAlpha     float64  `json:"lora_alpha"`
	LoRADropout   *float64 `json:"lora_dropout"`
	TargetModules []string `json:"target_modules"`
	Full          bool     `json:"full"` // train all weights instead of LoRA
	LR            float64  `json:"lr"`
	Epochs        float64  `json:"epochs"` // one of epochs and max_steps
	MaxSteps      int      `json:"max_steps"`
	BatchSize     int      `json:"batch_size"`
	GradAccum     int      `json:"grad_accum"`
	MaxLength     int      `json:"max_length"`
	EvalEvery     *int     `json:"eval_every,omitempty"` // nil: the trainer's default
	SaveEvery     *int     `json:"save_every,omitempty"` // nil: the trainer's default
	Seed          *int64   `json:"seed"`
	Processes     int      `json:"processes"` // data-parallel trainer processes (trainer's --nproc-per-node)
	TestRows      *int     `json:"test_rows"` // test rows the evaluate stage scores (0: all; nil: the table's default)
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

var stageOrder = runspec.Stages

var targetOK = regexp.MustCompile(`^(all-linear|[a-z][a-z0-9_]*)$`)

// number is where a numeric setting lives in a Config.
type number struct {
	get func() (v float64, given bool)
	set func(v float64)
}

// plain is a setting whose 0 means "left out": none of them has 0 as a value of its own.
func plain[T int | float64](p *T) number {
	return number{func() (float64, bool) { return float64(*p), *p != 0 }, func(v float64) { *p = T(v) }}
}

// optional is a setting where 0 is a value, so that only nil means "left out".
func optional[T int | int64 | float64](p **T) number {
	return number{
		func() (float64, bool) {
			if *p == nil {
				return 0, false
			}
			return float64(**p), true
		},
		func(v float64) { x := T(v); *p = &x },
	}
}

// numbers maps the table's numeric fields to c's.
func (c *Config) numbers() map[string]number {
	return map[string]number{
		"max_steps": plain(&c.MaxSteps), "epochs": plain(&c.Epochs), "lora_r": plain(&c.LoRARank),
		"lora_alpha": plain(&c.LoRAAlpha), "lora_dropout": optional(&c.LoRADropout), "lr": plain(&c.LR),
		"batch_size": plain(&c.BatchSize), "grad_accum": plain(&c.GradAccum), "max_length": plain(&c.MaxLength),
		"eval_every": optional(&c.EvalEvery), "save_every": optional(&c.SaveEvery), "seed": optional(&c.Seed),
		"processes": plain(&c.Processes), "test_rows": optional(&c.TestRows),
	}
}

// defaultedLater are numeric settings a run may leave out and that are passed to the trainer
// only when given, so that it applies its own default.
var defaultedLater = []string{"eval_every", "save_every"}

// Normalize fills defaults from the settings table and checks every field against its limits;
// the error is a ValidationError naming each bad field.
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
	if c.Epochs != 0 && c.MaxSteps != 0 {
		bad("max_steps", "give epochs or max_steps, not both")
	}
	nums := c.numbers()
	for _, f := range runspec.Fields {
		n, ok := nums[f.Name]
		if !ok {
			continue
		}
		v, given := n.get()
		switch {
		case given:
		case f.Name == "epochs" && c.MaxSteps != 0, slices.Contains(defaultedLater, f.Name):
			continue
		default:
			v = f.DefaultNumber()
			n.set(v)
		}
		if why := f.Check(v); why != "" {
			bad(f.Name, "%s", why)
		}
	}
	// Checked only once both are within their limits, so that a bad value is reported once.
	if p := mustField("processes"); p.Check(float64(c.Processes)) == "" && c.BatchSize > 0 && c.BatchSize%c.Processes != 0 {
		bad("processes", "the batch size %d (the global batch) must divide by the %d processes", c.BatchSize, c.Processes)
	}
	if len(c.TargetModules) == 0 {
		c.TargetModules = strings.Split(mustField("target_modules").Default, ",")
	}
	for i, t := range c.TargetModules {
		if !targetOK.MatchString(t) {
			bad(fmt.Sprintf("target_modules[%d]", i), "%q is not a module name", t)
		}
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
		c.QuantizeBits = runspec.DefaultQuantizeBits
	}
	if c.QuantizeBits != 8 && c.QuantizeBits != 4 {
		bad("quantize_bits", "must be 8 or 4")
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Validate is Normalize plus the server's own rule: base_model and data must lie under one
// of roots (symbolic links resolved, so a link cannot lead out).
func (c *Config) Validate(roots []string) error {
	var errs ValidationError
	if err := c.Normalize(); err != nil {
		errs = err.(ValidationError)
	}
	for _, f := range []struct{ field, path string }{{"base_model", c.BaseModel}, {"data", c.Data}} {
		if f.path == "" || slices.ContainsFunc(errs, func(e FieldError) bool { return e.Field == f.field }) {
			continue
		}
		if !under(f.path, roots) {
			errs = append(errs, FieldError{f.field, fmt.Sprintf("%q is outside the directories runs may read (%s)", f.path, strings.Join(roots, ", "))})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// under says whether path is one of roots or inside one.
func under(path string, roots []string) bool {
	real := func(p string) (string, bool) {
		p, err := filepath.Abs(p)
		if err == nil {
			p, err = filepath.EvalSymlinks(p)
		}
		return p, err == nil
	}
	p, ok := real(path)
	if !ok {
		return false
	}
	for _, root := range roots {
		r, ok := real(root)
		if !ok {
			continue
		}
		if rel, err := filepath.Rel(r, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func mustField(name string) runspec.Field {
	f, ok := runspec.Lookup(name)
	if !ok {
		panic("runs: the settings table has no " + name)
	}
	return f
}

// stages is the run's whole pipeline.
func (c *Config) stages() []string { return append([]string{"train"}, c.Pipeline...) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Args is the trainer command line for one stage of the run in dir; train's flags are the
// settings table's.
func (c *Config) Args(stage, dir string, resume bool) []string {
	adapter := dir + "/adapter"
	switch stage {
	case "train":
		a := []string{"train"}
		arg := func(field, value string) { a = append(a, "--"+mustField(field).Flag, value) }
		arg("base_model", c.BaseModel)
		arg("data", c.Data)
		a = append(a, "--out", dir)
		arg("lr", ftoa(c.LR))
		arg("batch_size", strconv.Itoa(c.BatchSize))
		arg("grad_accum", strconv.Itoa(c.GradAccum))
		arg("max_length", strconv.Itoa(c.MaxLength))
		arg("seed", strconv.FormatInt(*c.Seed, 10))
		if c.MaxSteps > 0 {
			arg("max_steps", strconv.Itoa(c.MaxSteps))
		} else {
			arg("epochs", ftoa(c.Epochs))
		}
		if c.Full {
			a = append(a, "--full")
		} else {
			arg("lora_r", strconv.Itoa(c.LoRARank))
			arg("lora_alpha", ftoa(c.LoRAAlpha))
			arg("lora_dropout", ftoa(*c.LoRADropout))
			arg("target_modules", strings.Join(c.TargetModules, ","))
		}
		if c.EvalEvery != nil {
			arg("eval_every", strconv.Itoa(*c.EvalEvery))
		}
		if c.SaveEvery != nil {
			arg("save_every", strconv.Itoa(*c.SaveEvery))
		}
		if c.Processes > 1 { // the trainer's default is 1: one process, as before the field existed
			arg("processes", strconv.Itoa(c.Processes))
		}
		if resume {
			a = append(a, "--resume")
		}
		return a
	case "evaluate":
		return []string{"eval", "--model", c.BaseModel, "--adapter", adapter, "--data", c.Data, "--out", dir + "/eval",
			"--" + mustField("test_rows").Flag, strconv.Itoa(*c.TestRows)}
	case "merge":
		return []string{"merge", "--model", c.BaseModel, "--adapter", adapter, "--out", dir + "/merged"}
	case "quantize":
		return []string{"quantize", "--model", dir + "/merged", "--out", dir + "/" + quantDir(c.QuantizeBits), "--bits", strconv.Itoa(c.QuantizeBits)}
	}
	panic("runs: unknown stage " + stage)
}

func quantDir(bits int) string { return "int" + strconv.Itoa(bits) }
