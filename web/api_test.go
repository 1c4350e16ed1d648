package web

import (
	"strings"
	"testing"
)

// A report.json as `trainer eval` writes it (trainer/eval.Report), trimmed to two models,
// two question types and three examples; BLEU is null where it is undefined.
const reportJSON = `{
 "created": "2026-11-27T12:00:00Z",
 "settings": {"data": "data/splits", "split": "test", "limit": 3, "max_new_tokens": 256, "batch_size": 8,
              "max_length": 512, "decoding": "greedy", "dtype": "f32", "device": "cpu"},
 "models": [
  {"label": "lora", "model": "runs/1/merged", "tokenizer": "runs/1/merged",
   "overall": {"n": 3, "f1": 31.5, "exact_match": 0, "rouge1": 35.25, "rouge2": 12.5, "rougeL": 24.75, "rougeLsum": 26,
               "bleu": null, "sacrebleu": 7.5, "perplexity": 9.25, "mean_answer_tokens": 80, "length_stops": 1, "nll_tokens": 300},
   "corpus": {}, "by_qtype": [
     {"key": "symptoms", "summary": {"n": 2, "f1": 30, "rougeL": 20, "bleu": 1.5, "perplexity": null}},
     {"key": "treatment", "summary": {"n": 1, "f1": 34.5, "rougeL": 34.25}}],
   "by_source": [], "generate_seconds": 12.5, "generated_tokens_per_s": 19.2},
  {"label": "base", "model": "assets/model", "overall": {"n": 3, "rougeL": 1}, "by_qtype": []}
 ],
 "examples": [
  {"id": "a", "qtype": "symptoms", "source": "x", "question": "Q1", "reference": "R1",
   "outputs": [{"text": "P1", "tokens": 9, "stop": "stop", "scores": {"rougeL": 40, "bleu": null}}, {"text": "B1", "scores": {"rougeL": 0}}]},
  {"id": "b", "qtype": "symptoms", "question": "Q2", "reference": "R2",
   "outputs": [{"text": "P2", "scores": {"rougeL": 5}}]},
  {"id": "c", "qtype": "treatment", "question": "Q3", "reference": "R3",
   "outputs": [{"text": "P3", "scores": {"rougeL": 12.5}}]}
 ]
}`

func TestDecodeReport(t *testing.T) {
	r, err := DecodeReport("1", []byte(reportJSON))
	if err != nil {
		t.Fatal(err)
	}
	if r.RunID != "1" || r.Split != "test" || len(r.Columns) != len(reportColumns) {
		t.Fatalf("report %+v", r)
	}
	if r.Overall["f1"] != 31.5 || r.Overall["rougeL"] != 24.75 || r.Overall["perplexity"] != 9.25 {
		t.Errorf("overall %v", r.Overall)
	}
	if _, ok := r.Overall["bleu"]; ok {
		t.Errorf("a null BLEU must be left out, got %v", r.Overall["bleu"])
	}
	if len(r.QTypes) != 2 || r.QTypes[0].QType != "symptoms" || r.QTypes[0].N != 2 || r.QTypes[1].Scores["rougeL"] != 34.25 {
		t.Errorf("qtypes %+v", r.QTypes)
	}
	var order []string
	for _, e := range r.Worst {
		order = append(order, e.Question+"="+e.Prediction)
	}
	if got := strings.Join(order, " "); got != "Q2=P2 Q3=P3 Q1=P1" {
		t.Errorf("worst first (by the first model's ROUGE-L): %s", got)
	}
	if _, err := DecodeReport("1", []byte(`{"models": []}`)); err == nil {
		t.Error("a report without models should be an error")
	}
}

// The answer of GET /api/runs/{id} as the backend writes it (runs.Detail).
const detailJSON = `{
 "run": {"id": 4, "status": "succeeded", "stage": "quantize", "resume": false, "dir": "data/runs/4",
         "config": {"base_model": "assets/model", "epochs": 1, "max_steps": 0},
         "created_at": "2026-11-27T10:00:00Z", "metrics": {"step": 20, "loss": 1.25, "eta_s": 0},
         "attempts": 1, "checkpoints": ["data/runs/4/checkpoints/step-20"]},
 "events": [
  {"seq": 1, "run_id": 4, "stage": "train", "time": "2026-11-27T10:00:00Z", "type": "status", "message": "queued", "status": "queued"},
  {"seq": 2, "run_id": 4, "stage": "train", "time": "2026-11-27T10:00:01Z", "type": "start", "other": {"max_steps": 20}},
  {"seq": 3, "run_id": 4, "stage": "train", "time": "2026-11-27T10:00:02Z", "type": "step", "step": 1, "loss": 2.5, "lr": 0.0002},
  {"seq": 4, "run_id": 4, "stage": "train", "time": "2026-11-27T10:00:03Z", "type": "eval", "step": 1, "val_loss": 2.75, "val_ppl": 15.6},
  {"seq": 5, "run_id": 4, "stage": "merge", "time": "2026-11-27T10:00:04Z", "type": "log", "message": "merging"},
  {"seq": 6, "run_id": 4, "stage": "quantize", "time": "2026-11-27T10:00:05Z", "type": "status", "message": "succeeded", "status": "succeeded"}],
 "models": [
  {"id": 7, "run_id": 4, "kind": "adapter", "path": "assets/model", "adapter": "data/runs/4/adapter", "active": false},
  {"id": 8, "run_id": 4, "kind": "int8", "path": "data/runs/4/int8", "active": true}]
}`

func TestDecodeRunDetail(t *testing.T) {
	d, err := DecodeRunDetail([]byte(detailJSON))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "4" || d.Status != "succeeded" || d.Step != 20 || d.Loss != 1.25 || d.MaxSteps != 20 || d.LastSeq != 6 {
		t.Errorf("run %+v", d.Run)
	}
	if len(d.Events) != 6 || !eq(d.Events[2].Step, 1) || !eq(d.Events[2].Loss, 2.5) || !eq(d.Events[3].ValLoss, 2.75) {
		t.Errorf("events %+v", d.Events)
	}
	if got := strings.Join(d.Logs, " | "); got != "status: queued | [merge] merging | [quantize] status: succeeded" {
		t.Errorf("logs %q", got)
	}
	if len(d.Artifacts) != 3 || d.Artifacts[0].Path != "data/runs/4/adapter" || d.Artifacts[0].ModelID != "7" ||
		!d.Artifacts[1].Active || d.Artifacts[2].Name != "checkpoint" || d.Artifacts[2].ModelID != "" {
		t.Errorf("artifacts %+v", d.Artifacts)
	}
	if !d.Active || d.Model != "medqa-run4-int8" {
		t.Errorf("serving: %v %q", d.Active, d.Model)
	}
	runs, err := DecodeRuns([]byte(`{"runs": [{"id": 9, "status": "queued", "config": {"max_steps": 50}, "metrics": {"step": 0}}]}`))
	if err != nil || len(runs) != 1 || runs[0].ID != "9" || runs[0].MaxSteps != 50 || runs[0].Progress() != 0 {
		t.Errorf("runs %+v %v", runs, err)
	}
}

// eq says whether the optional value p is present and equal to v.
func eq[T comparable](p *T, v T) bool { return p != nil && *p == v }
