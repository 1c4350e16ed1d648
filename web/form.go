package web

// Field is one input of the start-run form. The browser validates it with the constraint
// attributes (required, min, max, step) and sends it under Name with a JSON type chosen by Kind,
// so the backend can add hyperparameters without a change here.
type Field struct {
	Name     string   // JSON key sent to POST /api/runs
	Label    string   // what the person reads
	Kind     string   // "int", "float", "text", "list" (comma-separated, sent as an array) or "select"
	Default  string   // pre-filled value, shown as the default
	Min, Max string   // numeric bounds, empty for none
	Step     string   // numeric granularity ("any" for free floats)
	Options  []string // choices for "select"
	Required bool
	Help     string
}

// InputType is the HTML input type for the field.
func (f Field) InputType() string {
	if f.Kind == "int" || f.Kind == "float" {
		return "number"
	}
	return "text"
}

// DefaultRunForm mirrors `trainer train`'s flags and defaults.
func DefaultRunForm() []Field {
	return []Field{
		{Name: "base_model", Label: "Base model", Kind: "text", Default: "assets/model", Required: true,
			Help: "Hugging Face Qwen2 directory on the server"},
		{Name: "data", Label: "Data splits", Kind: "text", Default: "data/splits", Required: true,
			Help: "directory with train.jsonl and validation.jsonl"},
		{Name: "max_steps", Label: "Max steps", Kind: "int", Default: "0", Min: "0", Max: "1000000", Step: "1",
			Help: "0 trains for the given epochs; otherwise replaces them"},
		{Name: "epochs", Label: "Epochs", Kind: "float", Default: "1", Min: "0", Max: "100", Step: "any"},
		{Name: "lora_r", Label: "LoRA rank", Kind: "int", Default: "16", Min: "1", Max: "512", Step: "1", Required: true},
		{Name: "lora_alpha", Label: "LoRA alpha", Kind: "float", Default: "32", Min: "0", Max: "4096", Step: "any", Required: true},
		{Name: "lora_dropout", Label: "LoRA dropout", Kind: "float", Default: "0.05", Min: "0", Max: "0.9", Step: "any", Required: true},
		{Name: "target_modules", Label: "Target modules", Kind: "list", Default: "all-linear", Required: true,
			Help: "all-linear, or a comma list such as q_proj,v_proj"},
		{Name: "lr", Label: "Learning rate", Kind: "float", Default: "0.0002", Min: "0", Max: "1", Step: "any", Required: true},
		{Name: "batch_size", Label: "Batch size", Kind: "int", Default: "8", Min: "1", Max: "1024", Step: "1", Required: true},
		{Name: "grad_accum", Label: "Gradient accumulation", Kind: "int", Default: "1", Min: "1", Max: "1024", Step: "1", Required: true},
		{Name: "max_length", Label: "Max length (tokens)", Kind: "int", Default: "512", Min: "16", Max: "32768", Step: "1", Required: true},
		{Name: "eval_every", Label: "Evaluate every (steps)", Kind: "int", Default: "50", Min: "0", Max: "1000000", Step: "1",
			Help: "0 evaluates only at the end"},
		{Name: "save_every", Label: "Checkpoint every (steps)", Kind: "int", Default: "100", Min: "0", Max: "1000000", Step: "1"},
		{Name: "seed", Label: "Seed", Kind: "int", Default: "42", Min: "0", Max: "2147483647", Step: "1", Required: true},
	}
}
