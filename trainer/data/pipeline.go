package data

import (
	"errors"
	"fmt"
)

// Config is one run of the pipeline.
type Config struct {
	Inputs       []string // files, in order; their rows concatenate
	Split        SplitConfig
	Load         LoadOptions
	SystemPrompt string // the system turn written into every row's messages
}

// Dataset is the pipeline's result: the three splits and their statistics.
type Dataset struct {
	Splits [3][]Row // in SplitNames order
	Stats  Stats
}

// Build loads, cleans and splits the inputs. It reads everything before it
// returns, so an error in any input leaves nothing half-done.
func Build(cfg Config) (*Dataset, error) {
	if len(cfg.Inputs) == 0 {
		return nil, errors.New("no input files")
	}
	if err := cfg.Split.Validate(); err != nil {
		return nil, err
	}
	// IDs are "<input name>-<n>", so two inputs with one name would collide.
	names := map[string]string{}
	for _, p := range cfg.Inputs {
		n := InputName(p)
		if prev, dup := names[n]; dup {
			return nil, fmt.Errorf("inputs %s and %s share the name %q, so their row IDs would collide; rename one", prev, p, n)
		}
		names[n] = p
	}

	st := Stats{
		Seed:         cfg.Split.Seed,
		Validation:   cfg.Split.Validation,
		Test:         cfg.Split.Test,
		SystemPrompt: cfg.SystemPrompt,
		Dropped:      zeroCounts(DropReasons),
	}
	cleaner := NewCleaner()
	var kept []Row
	for _, p := range cfg.Inputs {
		rows, format, err := Load(p, cfg.Load)
		if err != nil {
			return nil, err
		}
		in := InputStats{File: p, Format: format, Rows: len(rows), Dropped: zeroCounts(DropReasons)}
		for _, r := range rows {
			r, reason := cleaner.Clean(r)
			if reason != "" {
				in.Dropped[reason]++
				st.Dropped[reason]++
				continue
			}
			kept = append(kept, r)
			in.Kept++
		}
		st.Inputs = append(st.Inputs, in)
		st.Rows += in.Rows
	}
	if len(kept) == 0 {
		return nil, errors.New("no rows left after cleaning")
	}
	st.Kept = len(kept)

	idx, err := Split(kept, cfg.Split)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{}
	all := map[string]bool{}
	for s, rows := range idx {
		ss := SplitStats{Name: SplitNames[s], QTypes: map[string]int{}}
		qs := map[string]bool{}
		for _, i := range rows {
			r := kept[i]
			ds.Splits[s] = append(ds.Splits[s], r)
			ss.QTypes[r.QType]++
			qs[QuestionKey(r.Question)] = true
			all[QuestionKey(r.Question)] = true
		}
		ss.Rows = len(rows)
		ss.Questions = len(qs)
		st.Splits = append(st.Splits, ss)
	}
	st.Questions = len(all)
	ds.Stats = st
	return ds, nil
}

func zeroCounts(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for _, k := range keys {
		m[k] = 0
	}
	return m
}
