package data

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Stats is stats.json: what went in, what was dropped and why, and what
// each split holds. It has no times or host names, so the same inputs and
// seed give the same bytes.
type Stats struct {
	Seed         uint64         `json:"seed"`
	Validation   float64        `json:"validation"`
	Test         float64        `json:"test"`
	SystemPrompt string         `json:"system_prompt"`
	Inputs       []InputStats   `json:"inputs"`
	Rows         int            `json:"rows"`    // read from all inputs
	Dropped      map[string]int `json:"dropped"` // by reason, all inputs
	Kept         int            `json:"kept"`
	Questions    int            `json:"questions"` // distinct QuestionKeys kept
	Splits       []SplitStats   `json:"splits"`
}

// InputStats describes one input file.
type InputStats struct {
	File    string         `json:"file"`
	Format  string         `json:"format"`
	Rows    int            `json:"rows"`
	Dropped map[string]int `json:"dropped"`
	Kept    int            `json:"kept"`
}

// SplitStats describes one split.
type SplitStats struct {
	Name      string         `json:"name"`
	Rows      int            `json:"rows"`
	Questions int            `json:"questions"` // distinct QuestionKeys
	QTypes    map[string]int `json:"qtypes"`
}

// Summary writes the human-readable report the CLI prints.
func (s Stats) Summary(w io.Writer) {
	for _, in := range s.Inputs {
		fmt.Fprintf(w, "read %s (%s): %d rows, kept %d%s\n", in.File, in.Format, in.Rows, in.Kept, dropList(in.Dropped))
	}
	fmt.Fprintf(w, "kept %d of %d rows%s; %d distinct questions\n", s.Kept, s.Rows, dropList(s.Dropped), s.Questions)
	parts := make([]string, len(s.Splits))
	for i, sp := range s.Splits {
		parts[i] = fmt.Sprintf("%s %d (%.1f%%)", sp.Name, sp.Rows, pct(sp.Rows, s.Kept))
	}
	fmt.Fprintf(w, "split (seed %d, stratified by qtype, grouped by question): %s\n", s.Seed, strings.Join(parts, ", "))

	// qtypes, most common first, with their share of each split.
	total := map[string]int{}
	for _, sp := range s.Splits {
		for q, n := range sp.QTypes {
			total[q] += n
		}
	}
	qtypes := make([]string, 0, len(total))
	for q := range total {
		qtypes = append(qtypes, q)
	}
	slices.SortFunc(qtypes, func(a, b string) int {
		if total[a] != total[b] {
			return total[b] - total[a]
		}
		return strings.Compare(a, b)
	})
	fmt.Fprintf(w, "  %-16s %6s", "qtype", "rows")
	for _, sp := range s.Splits {
		fmt.Fprintf(w, " %11s", sp.Name)
	}
	fmt.Fprintln(w)
	for _, q := range qtypes {
		fmt.Fprintf(w, "  %-16s %6d", q, total[q])
		for _, sp := range s.Splits {
			fmt.Fprintf(w, " %5d %4.1f%%", sp.QTypes[q], pct(sp.QTypes[q], sp.Rows))
		}
		fmt.Fprintln(w)
	}
}

// dropList formats the non-zero drop counts, in DropReasons order.
func dropList(dropped map[string]int) string {
	var parts []string
	for _, r := range DropReasons {
		if n := dropped[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (dropped " + strings.Join(parts, ", ") + ")"
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
