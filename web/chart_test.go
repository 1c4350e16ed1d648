package web

import (
	"math"
	"slices"
	"strings"
	"testing"

	"medqa/trainer/runspec"
)

func TestTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi       float64
		n            int
		want         []float64
		wantA, wantB float64
	}{
		{0, 10, 5, []float64{0, 2, 4, 6, 8, 10}, 0, 10},
		{2.31, 3.47, 5, []float64{2, 2.5, 3, 3.5}, 2, 3.5},              // step 0.232 rounds up to 0.5
		{1, 1, 5, []float64{0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6}, 0.4, 1.6}, // one value: widened
		{1, 1000, 6, []float64{0, 200, 400, 600, 800, 1000}, 0, 1000},
	} {
		got, a, b := ticks(c.lo, c.hi, c.n)
		if !slices.EqualFunc(got, c.want, func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }) ||
			math.Abs(a-c.wantA) > 1e-9 || math.Abs(b-c.wantB) > 1e-9 {
			t.Errorf("ticks(%v, %v, %d) = %v [%v, %v], want %v [%v, %v]", c.lo, c.hi, c.n, got, a, b, c.want, c.wantA, c.wantB)
		}
	}
}

func TestLossChartGeometry(t *testing.T) {
	c := LossChart([]runspec.Record{
		{Type: "start"},
		{Type: "step", Step: new(int64(0)), Loss: new(4.0)},
		{Type: "step", Step: new(int64(5)), Loss: new(3.0)},
		{Type: "step", Step: new(int64(10)), Loss: new(math.NaN())}, // a diverged step is not drawn
		{Type: "eval", Step: new(int64(10)), ValLoss: new(2.0)},
		{Type: "checkpoint", Step: new(int64(10))},
	})
	if c.Empty || len(c.Series) != 2 {
		t.Fatalf("chart %+v", c)
	}
	// x in [0, 10] over plot width 568 from 56; y in [2, 4] over plot height 228 from 16.
	if got := c.Series[0].Points; got != "56.0,16.0 340.0,130.0" {
		t.Errorf("training points %q", got)
	}
	if d := c.Series[1].Dots; len(d) != 1 || d[0] != (Dot{X: "624.0", Y: "244.0"}) {
		t.Errorf("validation dots %v", d)
	}
	if !strings.Contains(c.Summary, "training loss 3 at step 5") || !strings.Contains(c.Summary, "validation loss 2 at step 10") {
		t.Errorf("summary %q", c.Summary)
	}
	if e := LossChart(nil); !e.Empty {
		t.Error("no events should give an empty chart")
	}
}

func TestLossChartThinsLongRuns(t *testing.T) {
	var ev []runspec.Record
	for s := range 10000 {
		ev = append(ev, runspec.Record{Type: "step", Step: new(int64(s)), Loss: new(1 + 1/float64(s+1))})
	}
	c := LossChart(ev)
	if n := strings.Count(c.Series[0].Points, " ") + 1; n > maxPlottedPointsPerSeries {
		t.Errorf("%d points drawn, want at most %d", n, maxPlottedPointsPerSeries)
	}
}
