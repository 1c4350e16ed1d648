package web

import (
	"fmt"

	"medqa/trainer/runspec"
)

// Field is one input of the start-run form. The browser validates it with the constraint
// attributes (required, min, max, step) and sends it under Name with a JSON type chosen by Kind.
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

// DefaultRunForm is the run settings table (runspec.Fields) as form inputs: the limits the
// browser checks are the ones the server enforces.
func DefaultRunForm() []Field {
	out := make([]Field, len(runspec.Fields))
	for i, s := range runspec.Fields {
		f := Field{Name: s.Name, Label: s.Label, Kind: string(s.Kind), Default: s.Default, Required: s.Required, Help: s.Help}
		if f.Default == "" {
			f.Default = s.Example
		}
		switch s.Kind {
		case runspec.Int:
			f.Step = "1"
		case runspec.Float:
			f.Step = "any"
		}
		if s.Numeric() {
			// HTML cannot say "0, or at least Min": the form allows 0 to Max and the server
			// refuses the gap, naming the field; Help says so.
			lo := s.Min
			if s.OrZero {
				lo = 0
			}
			f.Min, f.Max = runspec.Format(lo), runspec.Format(s.Max)
		}
		out[i] = f
	}
	return out
}

// Step is one stage of what a run started from the form does.
type Step struct {
	Name, What string
}

// RunPlan is what the start form says a run will do with its defaults: the base model and
// data it trains on, and the stages that follow (the server's pipeline, runspec.Stages).
type RunPlan struct {
	BaseModel, Data string
	Steps           []Step
}

// DefaultRunPlan describes a run of the form's defaults.
func DefaultRunPlan() RunPlan {
	p := RunPlan{}
	for _, f := range DefaultRunForm() {
		switch f.Name {
		case "base_model":
			p.BaseModel = f.Default
		case "data":
			p.Data = f.Default
		}
	}
	what := map[string]string{
		"evaluate": "answers and scores on the test split",
		"merge":    "the adapter folded into a dense float32 model",
		"quantize": fmt.Sprintf("an int%d copy of it for serving", runspec.DefaultQuantizeBits),
	}
	p.Steps = append(p.Steps, Step{"train", "LoRA adapters over the frozen base; an int8/int4 base stays quantized (QLoRA)"})
	for _, s := range runspec.Stages {
		p.Steps = append(p.Steps, Step{s, what[s]})
	}
	p.Steps = append(p.Steps, Step{"activate", "press Activate on the run page to serve the new model"})
	return p
}
