package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/data"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
	"medqa/wasm/metrics"
)

// writeTinyModel writes a random model of the QwenVocab test shape (Qwen2.5's
// vocabulary, so that the real, embedded tokenizer drives it; everything
// else tiny) and returns its directory.
func writeTinyModel(t testing.TB, seed uint64) string {
	t.Helper()
	return qwen2test.Write(t, qwen2test.Config(testkit.QwenVocab), seed)
}

var testRows = []data.Row{
	{ID: "medquad-1", Question: "What are the symptoms of Glaucoma?", Answer: "Most people with glaucoma have no early symptoms.", QType: "symptoms", Source: "NIHSeniorHealth"},
	{ID: "medquad-2", Question: "What causes Gout?", Answer: "Gout is caused by too much uric acid in the blood.\nIt forms crystals in joints.", QType: "causes", Source: "NIDDK"},
	{ID: "medquad-3", Question: "How to treat <script>alert(1)</script> burns?", Answer: "Cool the burn with running water & cover it.", QType: "treatment", Source: "NIDDK"},
	{ID: "medquad-4", Question: "What are the symptoms of Gout?", Answer: "Sudden, severe pain in a joint.", QType: "symptoms", Source: "GARD"},
}

func writeSplit(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := data.EncodeJSONL(&buf, testRows, data.DefaultSystemPrompt); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func openTiny(t testing.TB, dir string) *Target {
	t.Helper()
	tg, err := Open(dir, "", nil, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.Close)
	return tg
}

// The batched, padded NLL pass must equal a direct computation: one
// unpadded forward per row and a float64 log-softmax at every learned label.
func TestAnswerNLLMatchesDirectComputation(t *testing.T) {
	tg := openTiny(t, writeTinyModel(t, 5))
	rows, err := ReadSplit(writeSplit(t), "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := AnswerNLL(tg, rows, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		ex, _, err := data.EncodeExample(tg.Tok, tg.Tmpl, r.Messages, data.EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, len(ex.InputIDs))
		for k, id := range ex.InputIDs {
			ids[k] = int64(id)
		}
		var logits []float32
		torch.NoGrad(func() {
			s := torch.NewScope()
			defer s.Close()
			logits = torch.ToSlice[float32](tg.Model.Forward(s, torch.FromSlice(s, ids, 1, int64(len(ids))), nil))
		})
		V := tg.Model.Config.VocabSize
		want, n := 0.0, 0
		for p := 0; p+1 < len(ids); p++ {
			lab := ex.Labels[p+1]
			if lab == ignoreIndex {
				continue
			}
			row := logits[p*V : (p+1)*V]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			z := 0.0
			for _, v := range row {
				z += math.Exp(float64(v) - mx)
			}
			want += mx + math.Log(z) - float64(row[lab])
			n++
		}
		// Learned tokens: the answer and <|im_end|>.
		answer := len(tg.Tok.Encode(r.Reference())) + 1
		if got[i].Tokens != n || n != answer {
			t.Errorf("row %d: %d NLL tokens, direct count %d, answer+<|im_end|> %d", i, got[i].Tokens, n, answer)
		}
		if math.Abs(got[i].Sum-want) > 1e-4*want {
			t.Errorf("row %d: NLL %.6f, direct %.6f", i, got[i].Sum, want)
		}
	}
}

// Every number in the report must be what the metrics package computes
// from the report's own predictions and references.
func TestReportNumbersEqualMetricsPackage(t *testing.T) {
	rows, err := ReadSplit(writeSplit(t), "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	tgA := &Target{Label: "base", Dir: "base"}
	tgB := &Target{Label: "tuned", Dir: "tuned", Adapter: "adapter"}
	predsA := []Prediction{{Text: "Glaucoma has no early symptoms in most people.", Tokens: 9, Stop: "stop"},
		{Text: "", Tokens: 0, Stop: "stop"}, {Text: "Cool the burn.", Tokens: 4, Stop: "length"}, {Text: "pain", Tokens: 1, Stop: "stop"}}
	predsB := []Prediction{{Text: "Most people with glaucoma have no early symptoms.", Tokens: 9, Stop: "stop"},
		{Text: "Too much uric acid in the blood causes gout.", Tokens: 10, Stop: "stop"},
		{Text: "Cool the burn with running water.", Tokens: 7, Stop: "stop"}, {Text: "Severe joint pain.", Tokens: 4, Stop: "stop"}}
	nll := []NLL{{10, 5}, {20, 8}, {3, 3}, {7, 2}}
	rep, err := Build(rows, []Result{{Target: tgA, Predictions: predsA, NLL: nll}, {Target: tgB, Predictions: predsB}}, Settings{Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// Round-trip through JSON, as a reader of report.json sees it.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for m, preds := range [][]Prediction{predsA, predsB} {
		var ps []string
		var refs [][]string
		for i, ex := range back.Examples {
			o := ex.Outputs[m]
			if o.Text != preds[i].Text || ex.Reference != testRows[i].Answer {
				t.Fatalf("model %d row %d: text/reference not kept", m, i)
			}
			ps, refs = append(ps, o.Text), append(refs, []string{ex.Reference})
			p, _ := metrics.Score(o.Text, []string{ex.Reference})
			if o.Scores.F1 != 100*p.Squad.F1 || o.Scores.RougeL != 100*p.Rouge.RougeL || o.Scores.Rouge2 != 100*p.Rouge.Rouge2 ||
				o.Scores.SacreBLEU != p.SacreBLEUSentence.Score {
				t.Errorf("model %d row %d: scores %+v, metrics says %+v", m, i, o.Scores, p)
			}
			if (p.BLEU.Err != nil) != (o.Scores.BLEU == nil) || (o.Scores.BLEU != nil && *o.Scores.BLEU != 100*p.BLEU.Result.BLEU) {
				t.Errorf("model %d row %d: BLEU %v vs %+v", m, i, o.Scores.BLEU, p.BLEU)
			}
		}
		c, err := metrics.Corpus(ps, refs)
		if err != nil {
			t.Fatal(err)
		}
		o := back.Models[m].Overall
		if o.F1 != c.Squad.F1 || o.ExactMatch != c.Squad.ExactMatch || o.Rouge1 != 100*c.RougeMean.Rouge1 ||
			o.RougeLsum != 100*c.RougeMean.RougeLsum || o.SacreBLEU != c.SacreBLEU.Score || *o.BLEU != 100*c.BLEU.Result.BLEU {
			t.Errorf("model %d overall %+v, metrics.Corpus %+v", m, o, c)
		}
		if back.Models[m].Corpus.Squad != c.Squad {
			t.Errorf("model %d: raw corpus block differs", m)
		}
	}
	// Perplexity: exp(Σ NLL / Σ tokens), overall and per group; absent without NLL.
	if p := back.Models[0].Overall.Perplexity; p == nil || math.Abs(*p-math.Exp(40.0/18)) > 1e-12 {
		t.Errorf("overall perplexity %v, want exp(40/18)", p)
	}
	if back.Models[1].Overall.Perplexity != nil {
		t.Error("perplexity reported for a model that was not measured")
	}
	var sym *Group
	for i, g := range back.Models[0].ByQType {
		if g.Key == "symptoms" {
			sym = &back.Models[0].ByQType[i]
		}
	}
	if sym == nil || sym.Summary.N != 2 || math.Abs(*sym.Summary.Perplexity-math.Exp(17.0/7)) > 1e-12 {
		t.Errorf("symptoms group %+v", sym)
	}
	if c, _ := metrics.Corpus([]string{predsA[0].Text, predsA[3].Text}, [][]string{{testRows[0].Answer}, {testRows[3].Answer}}); sym.Summary.F1 != c.Squad.F1 {
		t.Errorf("symptoms F1 %g, metrics %g", sym.Summary.F1, c.Squad.F1)
	}
	if back.Models[0].Overall.LengthStops != 1 || len(back.Models[0].BySource) != 3 || back.Models[0].BySource[0].Key != "NIDDK" {
		t.Errorf("length stops / sources: %+v", back.Models[0])
	}
}

func TestHTMLIsSelfContainedAndEscaped(t *testing.T) {
	rows, _ := ReadSplit(writeSplit(t), "test", 0)
	preds := make([]Prediction, len(rows))
	for i := range preds {
		preds[i] = Prediction{Text: "<b>bold</b> answer " + rows[i].ID, Tokens: 3, Stop: "stop"}
	}
	rep, err := Build(rows, []Result{{Target: &Target{Label: "A&B"}, Predictions: preds}, {Target: &Target{Label: "other"}, Predictions: preds}}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report")
	if err := rep.WriteDir(out, 4); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(out, "report.html"))
	h := string(raw)
	for _, bad := range []string{"<script", "<b>bold", "http://", "https://", "src=", "<link"} {
		if strings.Contains(h, bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "A&amp;B", "<svg", "By question type", "By source", "NIHSeniorHealth", "Δ"} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if n := strings.Count(h, `class="ex"`); n != 4 {
		t.Errorf("%d worst examples shown, want 4", n)
	}
	// Three histograms, each with 10 bins × 2 models; bar heights sum to the row counts.
	if n := strings.Count(h, "<svg"); n != 3 {
		t.Errorf("%d histograms", n)
	}
	if n := len(regexp.MustCompile(`<rect `).FindAllString(h, -1)); n != 3*10*2 {
		t.Errorf("%d bars", n)
	}
	// Re-writing the same directory replaces it; a foreign directory is refused.
	if err := rep.WriteDir(out, 2); err != nil {
		t.Errorf("rewrite: %v", err)
	}
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "notes.txt"), nil, 0o644)
	if err := rep.WriteDir(foreign, 2); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("writing over a foreign directory: %v", err)
	}
}

// End to end on a tiny random model: generation through Generate equals a
// direct greedy run, batching does not change answers, and the report holds
// them.
func TestGenerateEndToEnd(t *testing.T) {
	dir := writeTinyModel(t, 9)
	tg := openTiny(t, dir)
	rows, err := ReadSplit(writeSplit(t), "test", 3)
	if err != nil || len(rows) != 3 {
		t.Fatalf("ReadSplit limit 3: %d rows, %v", len(rows), err)
	}
	batched, _, err := Generate(context.Background(), tg, rows, GenOptions{MaxNewTokens: 6, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		prompt, _ := tg.Tmpl.Render(r.Prompt(), true)
		var ids []int64
		for _, id := range tg.Tok.Encode(prompt) {
			ids = append(ids, int64(id))
		}
		res, err := tg.Model.Generate(context.Background(), ids, qwen2.GenerateOptions{MaxNewTokens: 6, StopIDs: tg.StopIDs()})
		if err != nil {
			t.Fatal(err)
		}
		toks := make([]int, len(res.Tokens))
		for k, id := range res.Tokens {
			toks[k] = int(id)
		}
		if want := strings.TrimSpace(tg.Tok.Decode(toks)); batched[i].Text != want || batched[i].Tokens != len(toks) || batched[i].Stop != string(res.Reason) {
			t.Errorf("row %d: batched %+v, direct %q (%d tokens, %s)", i, batched[i], want, len(toks), res.Reason)
		}
	}
	for _, id := range []int64{151643, 151645} {
		found := false
		for _, s := range tg.StopIDs() {
			found = found || s == id
		}
		if !found {
			t.Errorf("stop ids %v lack %d", tg.StopIDs(), id)
		}
	}
}

func TestReadSplitErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "test.jsonl"), []byte(`{"id":"a","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}
{"id":"b","messages":[{"role":"user","content":"q"}]}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "validation.jsonl"), []byte("{\"id\": \n"), 0o644)
	for _, tc := range []struct{ split, want string }{
		{"test", "test.jsonl:2: row b"}, {"validation", "validation.jsonl:1"}, {"train", "train.jsonl"}} {
		_, err := ReadSplit(dir, tc.split, 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.split, err, tc.want)
		}
	}
}
