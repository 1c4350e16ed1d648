package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"medqa/trainer/runspec"
)

// The loss chart is drawn on the server as SVG, so it needs no chart library and no inline
// script; the run page re-fetches it when events arrive.

// Chart geometry in SVG user units; the SVG scales to its container.
const (
	chartW, chartH            = 640, 280
	padL, padR, padT, padB    = 56, 16, 16, 36
	plotW, plotH              = chartW - padL - padR, chartH - padT - padB
	maxPlottedPointsPerSeries = 2000
)

// Series is one curve of the chart.
type Series struct {
	Name   string
	Class  string // CSS class that colours it
	X, Y   []float64
	Points string // "x,y x,y …" in SVG units
	Dots   []Dot  // drawn for sparse series (validation)
}

// Dot is a marker at an SVG position.
type Dot struct{ X, Y string }

// Tick is an axis label at an SVG position.
type Tick struct {
	Pos   string
	Label string
}

// Chart is a ready-to-draw line chart.
type Chart struct {
	W, H, Left, Right, Top, Bottom int
	Series                         []Series
	XTicks, YTicks                 []Tick
	Empty                          bool
	Summary                        string // text alternative for screen readers
}

// LossChart plots training loss per step and validation loss per evaluation.
// An event without a step or the value is not drawn.
func LossChart(events []runspec.Record) Chart {
	train := Series{Name: "training loss", Class: "s-train"}
	val := Series{Name: "validation loss", Class: "s-val"}
	plot := func(s *Series, step *int64, v *float64) {
		if step != nil && v != nil && finite(*v) {
			s.X, s.Y = append(s.X, float64(*step)), append(s.Y, *v)
		}
	}
	for _, e := range events {
		switch e.Type {
		case runspec.EventStep:
			plot(&train, e.Step, e.Loss)
		case runspec.EventEval:
			plot(&val, e.Step, e.ValLoss)
		}
	}
	c := Chart{W: chartW, H: chartH, Left: padL, Right: chartW - padR, Top: padT, Bottom: chartH - padB}
	if len(train.X)+len(val.X) == 0 {
		c.Empty = true
		c.Summary = "No loss values yet."
		return c
	}
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range []Series{train, val} {
		for i := range s.X {
			xmin, xmax = min(xmin, s.X[i]), max(xmax, s.X[i])
			ymin, ymax = min(ymin, s.Y[i]), max(ymax, s.Y[i])
		}
	}
	xt, xmin, xmax := ticks(xmin, xmax, 6)
	yt, ymin, ymax := ticks(ymin, ymax, 5)
	sx := func(x float64) float64 { return padL + (x-xmin)/(xmax-xmin)*plotW }
	sy := func(y float64) float64 { return padT + (ymax-y)/(ymax-ymin)*plotH }
	for _, t := range xt {
		c.XTicks = append(c.XTicks, Tick{Pos: num(sx(t)), Label: label(t)})
	}
	for _, t := range yt {
		c.YTicks = append(c.YTicks, Tick{Pos: num(sy(t)), Label: label(t)})
	}
	for _, s := range []*Series{&train, &val} {
		if len(s.X) == 0 {
			continue
		}
		var b strings.Builder
		stride := (len(s.X) + maxPlottedPointsPerSeries - 1) / maxPlottedPointsPerSeries
		for i := 0; i < len(s.X); i += stride {
			fmt.Fprintf(&b, "%s,%s ", num(sx(s.X[i])), num(sy(s.Y[i])))
		}
		s.Points = strings.TrimSpace(b.String())
		if s == &val {
			for i := range s.X {
				s.Dots = append(s.Dots, Dot{X: num(sx(s.X[i])), Y: num(sy(s.Y[i]))})
			}
		}
		c.Series = append(c.Series, *s)
	}
	var sum []string
	for _, s := range c.Series {
		n := len(s.X) - 1
		sum = append(sum, fmt.Sprintf("%s %s at step %s", s.Name, label(s.Y[n]), label(s.X[n])))
	}
	c.Summary = "Latest " + strings.Join(sum, "; ") + "."
	return c
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// ticks picks about n round tick values covering [lo, hi] and returns the widened range.
func ticks(lo, hi float64, n int) (ts []float64, a, b float64) {
	if hi <= lo {
		pad := math.Max(math.Abs(lo)*0.05, 0.5)
		lo, hi = lo-pad, hi+pad
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	a, b = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	for v := a; v <= b+step/2; v += step {
		ts = append(ts, math.Round(v/step)*step)
	}
	return ts, a, b
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func label(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) }
