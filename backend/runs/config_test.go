package runs

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"medqa/trainer/runspec"
)

func validConfig(t *testing.T) Config {
	return Config{BaseModel: t.TempDir(), Data: t.TempDir()}
}

// fieldErrors normalizes c and returns the names of the fields it refuses.
func fieldErrors(t *testing.T, c Config) []string {
	t.Helper()
	err := c.Normalize()
	if err == nil {
		return nil
	}
	var ve ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a ValidationError", err)
	}
	var names []string
	for _, f := range ve {
		names = append(names, f.Field)
	}
	return names
}

// The API enforces the settings table's limits, field by field: both bounds are accepted,
// the values just outside are refused with the field's name.
func TestLimitsAreTheTables(t *testing.T) {
	checked := 0
	for _, f := range runspec.Fields {
		if !f.Numeric() {
			continue
		}
		unit := 1.0
		if f.Kind == runspec.Float {
			unit = math.Nextafter(f.Max, math.Inf(1)) - f.Max
		}
		with := func(v float64) []string {
			c := validConfig(t)
			n, ok := c.numbers()[f.Name]
			if !ok {
				t.Fatalf("runs.Config has no field for the table's %s", f.Name)
			}
			n.set(v)
			return fieldErrors(t, c)
		}
		for _, v := range []float64{f.Min, f.Max} {
			if bad := with(v); len(bad) > 0 {
				t.Errorf("%s = %v (a bound) refused: %v", f.Name, v, bad)
			}
		}
		above := f.Max + unit
		below := f.Min - unit
		if below == 0 && f.Min > 0 && !f.OrZero {
			below = -unit // 0 is "left out" for these (the default applies)
		}
		for _, v := range []float64{above, below} {
			if bad := with(v); !slices.Equal(bad, []string{f.Name}) {
				t.Errorf("%s = %v: refused fields %v, want just %s", f.Name, v, bad, f.Name)
			}
		}
		if f.OrZero {
			if bad := with(0); len(bad) > 0 {
				t.Errorf("%s = 0 refused: %v", f.Name, bad)
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d numeric fields in the table", checked)
	}
}

// A run that leaves a setting out gets the table's default (the trainer's flag default), and
// every bad field is named at once.
func TestDefaultsAreTheTables(t *testing.T) {
	c := validConfig(t)
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	for name, n := range c.numbers() {
		f, ok := runspec.Lookup(name)
		if !ok {
			t.Fatalf("%s is not in the settings table", name)
		}
		v, given := n.get()
		if slices.Contains(defaultedLater, name) {
			if given {
				t.Errorf("%s was filled in (%v); the trainer applies its default", name, v)
			}
			continue
		}
		if v != f.DefaultNumber() {
			t.Errorf("%s defaults to %v, the table says %s", name, v, f.Default)
		}
	}
	if want := []string{mustField("target_modules").Default}; !slices.Equal(c.TargetModules, want) {
		t.Errorf("target_modules %v, want %v", c.TargetModules, want)
	}

	c = validConfig(t)
	c.MaxSteps = 5
	if err := c.Normalize(); err != nil || c.Epochs != 0 {
		t.Errorf("max_steps given: epochs %v (want left at 0), %v", c.Epochs, err)
	}

	c = validConfig(t)
	var want []string
	for name, n := range c.numbers() {
		if name == "epochs" { // left out: max_steps replaces it, and both would be an error of their own
			continue
		}
		f, _ := runspec.Lookup(name)
		n.set(f.Max * 2)
		want = append(want, name)
	}
	got := fieldErrors(t, c)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("refused %v, want every numeric field %v", got, want)
	}
}

func TestPathsOnlyUnderRoots(t *testing.T) {
	root := t.TempDir()
	inside := filepath.Join(root, "model")
	os.Mkdir(inside, 0o700)
	outside := t.TempDir()
	escape := filepath.Join(root, "link")
	if err := os.Symlink(outside, escape); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		ok   bool
	}{{inside, true}, {root, true}, {outside, false}, {escape, false}, {"/", false}, {inside + "/../..", false}} {
		cfg := Config{BaseModel: c.path, Data: inside}
		err := cfg.Validate([]string{root})
		named := err != nil && strings.Contains(err.Error(), "base_model:")
		if named == c.ok {
			t.Errorf("base_model %s: %v, want allowed=%v", c.path, err, c.ok)
		}
	}
}

func TestDefaultRootIsTheDataDir(t *testing.T) {
	dir := t.TempDir()
	m, err := Open(Options{Dir: dir, Launcher: fakeLauncher()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	if _, err := m.Submit(Config{BaseModel: t.TempDir(), Data: filepath.Join(dir, "runs"), MaxSteps: 1}); err == nil || !strings.Contains(err.Error(), "base_model:") {
		t.Fatalf("base_model outside the data dir: %v", err)
	}
}

// The evaluate stage scores the table's default number of test rows unless the run says
// otherwise, 0 (the whole split) included.
func TestEvaluateStageTestRows(t *testing.T) {
	for _, tc := range []struct {
		given *int
		want  string
	}{{nil, mustField("test_rows").Default}, {new(int), "0"}} {
		c := validConfig(t)
		c.TestRows = tc.given
		if err := c.Normalize(); err != nil {
			t.Fatal(err)
		}
		args := c.Args("evaluate", "/runs/1", false)
		if i := slices.Index(args, "--limit"); i < 0 || i+1 >= len(args) || args[i+1] != tc.want {
			t.Errorf("test_rows %v: evaluate runs %q, want --limit %s", tc.given, args, tc.want)
		}
	}
}
