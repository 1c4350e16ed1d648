package runspec

import (
	"fmt"
	"strconv"
)

// Kind is how a field is typed: in JSON, in the form, and on the trainer's command line.
type Kind string

const (
	Int   Kind = "int"
	Float Kind = "float"
	Text  Kind = "text"
	List  Kind = "list" // a JSON array of strings; comma-separated in the form and the flag
)

// Field is one setting of a training run that the server takes (POST /api/runs) and the
// admin form shows. Numbers are limited to [Min, Max], both included. These limits are what
// the server will launch; `trainer train` itself only refuses values that make no sense
// (a rank below 1, a negative step count), so someone at the command line may go beyond them.
type Field struct {
	Name string // the JSON key and the form's input name
	Flag string // the `trainer train` flag that receives it (or Stage's verb's flag)
	// Stage is "" for a setting of `trainer train`, else the pipeline stage whose trainer
	// verb takes Flag ("evaluate": `trainer eval`); the server always passes a stage's setting.
	Stage   string
	Label   string // what the form calls it
	Kind    Kind
	Default string // what a run gets when the field is left out: the train verb's flag default (for a Stage field, the server's)
	// Example is what the form pre-fills for a required field that has no default.
	Example  string
	Min, Max float64
	// OrZero allows 0 besides [Min, Max] (save_every: 0 saves only at the end).
	OrZero   bool
	Required bool // the form insists on a value (the server fills in Default for a missing one)
	Help     string
}

// Fields is the table of a run's settings, in the order the form shows them.
var Fields = []Field{
	{Name: "base_model", Flag: "model", Label: "Base model", Kind: Text, Example: "assets/model", Required: true,
		Help: "Qwen2 directory on the server: Hugging Face, or medqa int8/int4 (kept quantized and frozen: QLoRA)"},
	{Name: "data", Flag: "data", Label: "Data splits", Kind: Text, Example: "data/splits", Required: true,
		Help: "directory with train.jsonl and validation.jsonl"},
	{Name: "max_steps", Flag: "max-steps", Label: "Max steps", Kind: Int, Default: "0", Min: 0, Max: 1_000_000,
		Help: "0 trains for the given epochs; otherwise replaces them"},
	{Name: "epochs", Flag: "epochs", Label: "Epochs", Kind: Float, Default: "1", Min: 0, Max: 1000},
	{Name: "lora_r", Flag: "lora-r", Label: "LoRA rank", Kind: Int, Default: "16", Min: 1, Max: 1024, Required: true},
	{Name: "lora_alpha", Flag: "lora-alpha", Label: "LoRA alpha", Kind: Float, Default: "32", Min: 0, Max: 4096, Required: true},
	{Name: "lora_dropout", Flag: "lora-dropout", Label: "LoRA dropout", Kind: Float, Default: "0.05", Min: 0, Max: 0.9, Required: true},
	{Name: "target_modules", Flag: "target-modules", Label: "Target modules", Kind: List, Default: "all-linear", Required: true,
		Help: "all-linear, or a comma list such as q_proj,v_proj"},
	{Name: "lr", Flag: "lr", Label: "Learning rate", Kind: Float, Default: "0.0002", Min: 0, Max: 1, Required: true},
	{Name: "batch_size", Flag: "batch-size", Label: "Batch size", Kind: Int, Default: "8", Min: 1, Max: 256, Required: true},
	{Name: "grad_accum", Flag: "grad-accum", Label: "Gradient accumulation", Kind: Int, Default: "1", Min: 1, Max: 1024, Required: true},
	{Name: "max_length", Flag: "max-length", Label: "Max length (tokens)", Kind: Int, Default: "512", Min: 16, Max: 8192, Required: true},
	{Name: "eval_every", Flag: "eval-every", Label: "Evaluate every (steps)", Kind: Int, Default: "100", Min: 0, Max: 1_000_000,
		Help: "0 evaluates only at the end"},
	{Name: "save_every", Flag: "save-every", Label: "Checkpoint every (steps)", Kind: Int, Default: "100", Min: 10, Max: 1_000_000,
		OrZero: true, Help: "0 saves only at the end; otherwise at least 10"},
	{Name: "seed", Flag: "seed", Label: "Seed", Kind: Int, Default: "42", Min: 0, Max: 2147483647, Required: true},
	{Name: "test_rows", Flag: "limit", Stage: "evaluate", Label: "Test rows to evaluate", Kind: Int, Default: "200", Min: 0, Max: 1_000_000,
		Help: "the evaluate stage scores the first N rows of the test split (0: all of it, minutes to hours on a CPU); the report records N"},
	{Name: "processes", Flag: "nproc-per-node", Label: "Processes", Kind: Int, Default: "1", Min: 1, Max: 8, Required: true,
		Help: "data-parallel trainer processes on the server (one machine: 8 at most); the batch size is the global batch and must divide by it"},
}

// Stages are what the server does after training a LoRA run, in order, unless the run asks
// for fewer (POST /api/runs "pipeline"): evaluate the adapter on the test split, merge it
// into a dense model, quantize that. The admin then activates the quantized model.
var Stages = []string{"evaluate", "merge", "quantize"}

// DefaultQuantizeBits is the quantize stage's default (POST /api/runs "quantize_bits").
const DefaultQuantizeBits = 8

// Lookup returns the field called name.
func Lookup(name string) (Field, bool) {
	for _, f := range Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Numeric says whether the field holds a number.
func (f Field) Numeric() bool { return f.Kind == Int || f.Kind == Float }

// DefaultNumber is Default as a number (0 for a field without one).
func (f Field) DefaultNumber() float64 {
	v, _ := strconv.ParseFloat(f.Default, 64)
	return v
}

// Check says what is wrong with v for a numeric field, or "" when it is within the limits.
func (f Field) Check(v float64) string {
	if f.OrZero && v == 0 || v >= f.Min && v <= f.Max {
		return ""
	}
	if f.OrZero {
		return fmt.Sprintf("must be 0 or within [%s, %s]", Format(f.Min), Format(f.Max))
	}
	return fmt.Sprintf("must be within [%s, %s]", Format(f.Min), Format(f.Max))
}

// Format writes a limit as the form's min and max attributes and the error messages do:
// plain decimals, no exponent.
func Format(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
