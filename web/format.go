package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"medqa/trainer/runspec"
)

func itoa(i int) string { return strconv.Itoa(i) }

// ftoa writes the shortest form that parses back to f, as HTML number inputs expect.
func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func fmtLoss(f float64) string {
	if f == 0 || !finite(f) {
		return "—"
	}
	return strconv.FormatFloat(f, 'f', 4, 64)
}

func fmtMetric(f float64) string {
	if !finite(f) {
		return "—"
	}
	return strconv.FormatFloat(f, 'f', 4, 64)
}

func fmtETA(r Run) string {
	if r.EtaS <= 0 || r.Status != "running" {
		return "—"
	}
	return fmtDuration(time.Duration(r.EtaS * float64(time.Second)))
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func fmtBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v, i = v/1024, i+1
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

func stepText(r Run) string {
	if r.MaxSteps > 0 {
		return fmt.Sprintf("%d / %d", r.Step, r.MaxSteps)
	}
	return strconv.Itoa(r.Step)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// prettyJSON indents the stored config; it is shown verbatim otherwise (never re-encoded from a
// struct), so what the page shows is exactly what was sent.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

func joinLines(lines []string) string { return strings.Join(lines, "\n") }

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Error " + strconv.Itoa(code)
}

// lastStep is the highest step among the events, or -1 before the first.
func lastStep(events []runspec.Record) int {
	last := -1
	for _, e := range events {
		if e.Step != nil {
			last = max(last, int(*e.Step))
		}
	}
	return last
}
