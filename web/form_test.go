package web

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"medqa/trainer/runspec"
)

// The start form is the settings table: same fields in the same order, the same defaults, and
// the limits the server enforces as the browser's constraint attributes.
func TestRunFormIsTheSettingsTable(t *testing.T) {
	form := DefaultRunForm()
	if len(form) != len(runspec.Fields) {
		t.Fatalf("form has %d fields, the table %d", len(form), len(runspec.Fields))
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("bound %q: %v", s, err)
		}
		return v
	}
	body := get(t, signedIn().handler(), "/admin/runs", true).Body.String()
	for i, s := range runspec.Fields {
		f := form[i]
		want := s.Default
		if want == "" {
			want = s.Example
		}
		if f.Name != s.Name || f.Kind != string(s.Kind) || f.Default != want || f.Required != s.Required || f.Label != s.Label {
			t.Errorf("form field %d is %+v, the table's %+v", i, f, s)
		}
		if !s.Numeric() {
			if f.Min != "" || f.Max != "" {
				t.Errorf("%s: bounds on a %s field", s.Name, s.Kind)
			}
			continue
		}
		lo := s.Min
		if s.OrZero {
			lo = 0 // the one gap HTML cannot express; the server names it
		}
		if num(f.Min) != lo || num(f.Max) != s.Max {
			t.Errorf("%s: form [%s, %s], table [%g, %g] (or zero: %v)", s.Name, f.Min, f.Max, s.Min, s.Max, s.OrZero)
		}
		input := fmt.Sprintf(`name="%s"`, s.Name)
		at := strings.Index(body, input)
		if at < 0 {
			t.Errorf("the runs page has no input %s", s.Name)
			continue
		}
		tag := body[strings.LastIndex(body[:at], "<"):]
		tag = tag[:strings.Index(tag, ">")]
		for _, attr := range []string{`min="` + f.Min + `"`, `max="` + f.Max + `"`} {
			if !strings.Contains(tag, attr) {
				t.Errorf("%s: the input %s lacks %s", s.Name, tag, attr)
			}
		}
	}
}

// The start form says what a run of its defaults does: the base model and data it trains on
// (the form's own defaults) and every stage of the server's pipeline, ending in activation.
func TestRunFormShowsPlan(t *testing.T) {
	plan := DefaultRunPlan()
	base, _ := runspec.Lookup("base_model")
	data, _ := runspec.Lookup("data")
	if plan.BaseModel != base.Example || plan.Data != data.Example {
		t.Errorf("plan trains %q on %q; the form's defaults are %q and %q", plan.BaseModel, plan.Data, base.Example, data.Example)
	}
	var names []string
	for _, s := range plan.Steps {
		names = append(names, s.Name)
	}
	if want := append(append([]string{"train"}, runspec.Stages...), "activate"); strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("plan stages %v, want %v", names, want)
	}
	body := get(t, signedIn().handler(), "/admin/runs", true).Body.String()
	for _, want := range []string{`<code data-plan="base_model">` + base.Example + `</code>`, `<code data-plan="data">` + data.Example + `</code>`,
		`data-stage="quantize"`, `data-stage="activate"`, "int8"} {
		if !strings.Contains(body, want) {
			t.Errorf("the runs page lacks %s", want)
		}
	}
}
