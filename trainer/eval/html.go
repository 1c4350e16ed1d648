package eval

import (
	_ "embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"sort"
	"strings"
)

//go:embed report.html.tmpl
var reportTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{"num": num}).Parse(reportTemplate))

// colors are the models' series colours (first model, compared model).
var colors = []string{"#2563eb", "#ea580c"}

type metricRow struct {
	Name   string
	Values []string
	Delta  string
	Class  string // "up" or "down" when the second model is better or worse
}

type groupRow struct {
	Key    string
	N      int
	Values []string // per metric, per model
}

type exampleView struct {
	Example
	Labels []string
}

type view struct {
	R       *Report
	Labels  []string
	Colors  []string
	Overall []metricRow
	Hists   []template.HTML
	GroupH  []string // per-group column headers
	QType   []groupRow
	Source  []groupRow
	Worst   []exampleView
	NWorst  int
}

// HTML renders the self-contained report: inline CSS, SVG drawn here, no
// scripts or external assets. worst is how many of the lowest-scoring
// examples (by the first model's F1, then ROUGE-L) to show.
func (r *Report) HTML(w io.Writer, worst int) error {
	v := view{R: r, Colors: colors}
	for _, m := range r.Models {
		v.Labels = append(v.Labels, m.Label)
	}
	v.Overall = overallRows(r)
	for _, h := range []struct {
		name string
		get  func(Scores) float64
	}{{"SQuAD F1", func(s Scores) float64 { return s.F1 }}, {"ROUGE-L", func(s Scores) float64 { return s.RougeL }},
		{"sacreBLEU (sentence)", func(s Scores) float64 { return s.SacreBLEU }}} {
		v.Hists = append(v.Hists, histogram(r, h.name, h.get))
	}
	for _, name := range []string{"F1", "ROUGE-L", "BLEU", "ppl"} {
		for _, l := range v.Labels {
			if len(v.Labels) > 1 {
				v.GroupH = append(v.GroupH, name+" · "+l)
			} else {
				v.GroupH = append(v.GroupH, name)
			}
		}
	}
	v.QType = groupRows(r, func(m ModelReport) []Group { return m.ByQType })
	v.Source = groupRows(r, func(m ModelReport) []Group { return m.BySource })
	v.Worst, v.NWorst = worstExamples(r, worst, v.Labels), worst
	return page.Execute(w, v)
}

func num(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f", *p)
}

func ptr(x float64) *float64 { return &x }

func overallRows(r *Report) []metricRow {
	type metric struct {
		name        string
		get         func(Summary) *float64
		lowerBetter bool
		count       bool // an integer count: no decimals
	}
	ms := []metric{
		{"SQuAD F1", func(s Summary) *float64 { return ptr(s.F1) }, false, false},
		{"Exact match", func(s Summary) *float64 { return ptr(s.ExactMatch) }, false, false},
		{"ROUGE-1", func(s Summary) *float64 { return ptr(s.Rouge1) }, false, false},
		{"ROUGE-2", func(s Summary) *float64 { return ptr(s.Rouge2) }, false, false},
		{"ROUGE-L", func(s Summary) *float64 { return ptr(s.RougeL) }, false, false},
		{"ROUGE-Lsum", func(s Summary) *float64 { return ptr(s.RougeLsum) }, false, false},
		{"BLEU", func(s Summary) *float64 { return s.BLEU }, false, false},
		{"sacreBLEU", func(s Summary) *float64 { return ptr(s.SacreBLEU) }, false, false},
		{"Perplexity (reference answers)", func(s Summary) *float64 { return s.Perplexity }, true, false},
		{"Mean answer tokens (count)", func(s Summary) *float64 { return ptr(s.MeanTokens) }, false, false},
		{"Answers cut at max tokens (count)", func(s Summary) *float64 { return ptr(float64(s.LengthStops)) }, true, true},
		{"Hallucination rate (% of gene symbols unsupported)", func(s Summary) *float64 { return s.HallucinationRate }, true, false},
		{"Retrieval recall@3 (% same focus)", func(s Summary) *float64 { return s.RetrievalRecallAt3 }, false, false},
	}
	var rows []metricRow
	for _, m := range ms {
		row := metricRow{Name: m.name}
		var vals []*float64
		for _, mr := range r.Models {
			p := m.get(mr.Overall)
			vals = append(vals, p)
			if m.count && p != nil {
				row.Values = append(row.Values, fmt.Sprintf("%.0f", *p))
			} else {
				row.Values = append(row.Values, num(p))
			}
		}
		if len(vals) == 2 && vals[0] != nil && vals[1] != nil {
			d := *vals[1] - *vals[0]
			row.Delta = fmt.Sprintf("%+.2f", d)
			if m.count {
				row.Delta = fmt.Sprintf("%+.0f", d)
			}
			if m.name != "Mean answer tokens (count)" && d != 0 {
				if (d > 0) != m.lowerBetter {
					row.Class = "up"
				} else {
					row.Class = "down"
				}
			}
		}
		rows = append(rows, row)
	}
	ragRow := metricRow{Name: "Retrieval-augmented (RAG)"}
	for _, mr := range r.Models {
		ragRow.Values = append(ragRow.Values, map[bool]string{true: "yes", false: "no"}[mr.RAG])
	}
	rows = append(rows, ragRow)
	tps := metricRow{Name: "Generated tokens/s"}
	for _, mr := range r.Models {
		tps.Values = append(tps.Values, fmt.Sprintf("%.1f", mr.TokensPerSecond))
	}
	return append(rows, tps)
}

func groupRows(r *Report, pick func(ModelReport) []Group) []groupRow {
	by := make([]map[string]Summary, len(r.Models))
	var order []groupRow
	for i, m := range r.Models {
		by[i] = map[string]Summary{}
		for _, g := range pick(m) {
			by[i][g.Key] = g.Summary
			if i == 0 {
				order = append(order, groupRow{Key: g.Key, N: g.Summary.N})
			}
		}
	}
	for k := range order {
		for _, get := range []func(Summary) *float64{
			func(s Summary) *float64 { return ptr(s.F1) }, func(s Summary) *float64 { return ptr(s.RougeL) },
			func(s Summary) *float64 { return s.BLEU }, func(s Summary) *float64 { return s.Perplexity }} {
			for i := range r.Models {
				order[k].Values = append(order[k].Values, num(get(by[i][order[k].Key])))
			}
		}
	}
	return order
}

func worstExamples(r *Report, n int, labels []string) []exampleView {
	idx := make([]int, len(r.Examples))
	for i := range idx {
		idx[i] = i
	}
	score := func(i int) (float64, float64) {
		s := r.Examples[i].Outputs[0].Scores
		return s.F1, s.RougeL
	}
	sort.SliceStable(idx, func(a, b int) bool {
		fa, ra := score(idx[a])
		fb, rb := score(idx[b])
		if fa != fb {
			return fa < fb
		}
		return ra < rb
	})
	var out []exampleView
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, exampleView{r.Examples[i], labels})
	}
	return out
}

// histogram draws one metric's distribution (10 bins of 10 points) as an
// SVG bar chart with one bar per model in each bin.
func histogram(r *Report, title string, get func(Scores) float64) template.HTML {
	const W, H, left, bottom, top = 360.0, 200.0, 34.0, 28.0, 24.0
	counts := make([][10]int, len(r.Models))
	peak := 1
	for _, ex := range r.Examples {
		for m, o := range ex.Outputs {
			b := min(int(get(o.Scores)/10), 9)
			b = max(b, 0)
			counts[m][b]++
			peak = max(peak, counts[m][b])
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="hist" viewBox="0 0 %g %g" role="img" aria-label="%s">`, W, H, html.EscapeString(title+" distribution"))
	fmt.Fprintf(&sb, `<text x="%g" y="14" class="t">%s</text>`, left, html.EscapeString(title))
	plotW, plotH := W-left-8, H-bottom-top
	binW := plotW / 10
	barW := (binW - 4) / float64(len(r.Models))
	for _, frac := range []float64{0, 0.5, 1} {
		y := top + plotH*(1-frac)
		fmt.Fprintf(&sb, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" class="g"/><text x="%g" y="%.1f" class="a" text-anchor="end">%d</text>`,
			left, y, W-8, y, left-4, y+3, int(float64(peak)*frac+0.5))
	}
	for b := 0; b < 10; b++ {
		x0 := left + float64(b)*binW + 2
		for m := range r.Models {
			c := counts[m][b]
			h := plotH * float64(c) / float64(peak)
			fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d rows with %d–%d</title></rect>`,
				x0+float64(m)*barW, top+plotH-h, barW, h, colors[m%len(colors)], html.EscapeString(r.Models[m].Label), c, b*10, b*10+10)
		}
		fmt.Fprintf(&sb, `<text x="%.1f" y="%g" class="a" text-anchor="middle">%d</text>`, left+float64(b)*binW, H-bottom+12, b*10)
	}
	fmt.Fprintf(&sb, `<text x="%g" y="%g" class="a" text-anchor="middle">100</text>`, left+plotW, H-bottom+12)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}
