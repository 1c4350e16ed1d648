package runspec

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// filled is an event with every field set to a value of its own, so that a field the
// reader drops or mixes up with another shows.
func filled(t *testing.T) Event {
	t.Helper()
	var ev Event
	v := reflect.ValueOf(&ev).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString("value of " + name)
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(100 + i))
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.5)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Pointer:
			x := float64(i) + 0.25
			f.Set(reflect.ValueOf(&x))
		default:
			t.Fatalf("Event.%s: no test value for a %s", name, f.Kind())
		}
	}
	ev.Type, ev.Status = EventDone, StatusEarlyStopped
	return ev
}

func keys(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Every field the trainer writes reaches the server's record: as a field of its own or in
// Other, with its value; only the time stamp is the server's.
func TestEventRoundTripsThroughRecord(t *testing.T) {
	ev := filled(t)
	line, err := json.Marshal(ev) // what the trainer's emitter writes
	if err != nil {
		t.Fatal(err)
	}
	rec := ParseLine(line)
	if rec.Type != EventDone {
		t.Fatalf("parsed %+v from %s", rec, line)
	}
	got := keys(t, rec)
	for _, k := range serverKeys {
		delete(got, k)
	}
	for k, v := range got["other"].(map[string]any) {
		if _, dup := got[k]; dup {
			t.Errorf("%s is both a field and in other", k)
		}
		got[k] = v
	}
	delete(got, "other")
	got["error"] = got["message"] // an error event's error is the record's message
	delete(got, "message")

	want := keys(t, ev)
	delete(want, "time")
	if len(want) != reflect.TypeFor[Event]().NumField()-1 {
		t.Fatalf("the filled event has %d keys, want one per field but time", len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record fields\n got %v\nwant %v", got, want)
	}
}

// The trainer's lines are a wire format that existing run directories hold: the encoding of
// an event never changes.
func TestEventLineIsStable(t *testing.T) {
	ev := Event{Type: EventStep, Time: "2026-01-02T03:04:05Z", Step: 3, MaxSteps: 10, Epoch: 0.3, Loss: Num(2.5),
		LR: Num(2e-4), GradNorm: Num(1.25), TokensPerS: Num(900), ElapsedS: 12.5, EtaS: Num(30)}
	line, _ := json.Marshal(ev)
	want := `{"type":"step","time":"2026-01-02T03:04:05Z","step":3,"max_steps":10,"epoch":0.3,"loss":2.5,"lr":0.0002,` +
		`"grad_norm":1.25,"tokens_per_s":900,"elapsed_s":12.5,"eta_s":30}`
	if string(line) != want {
		t.Errorf("step line\n got %s\nwant %s", line, want)
	}
	done, _ := json.Marshal(Event{Type: EventDone, Time: "t", Step: 4, MaxSteps: 4, Epoch: 1, ElapsedS: 2, Loss: Num(math.NaN()),
		Status: StatusCompleted, Path: "run/adapter", BestValLoss: Num(1.5), BestStep: 4})
	want = `{"type":"done","time":"t","step":4,"max_steps":4,"epoch":1,"elapsed_s":2,"path":"run/adapter",` +
		`"status":"completed","best_val_loss":1.5,"best_step":4}`
	if string(done) != want {
		t.Errorf("done line (a NaN loss is left out)\n got %s\nwant %s", done, want)
	}
}

// The stored form is what GET /api/runs/{id} has always answered.
func TestRecordJSONIsStable(t *testing.T) {
	rec := ParseLine([]byte(`{"type":"start","time":"x","step":0,"max_steps":20,"epoch":0,"elapsed_s":0,"resumed":true}`))
	rec.Seq, rec.RunID, rec.Stage, rec.Time = 2, 4, "train", time.Date(2026, 11, 27, 10, 0, 1, 0, time.UTC)
	raw, _ := json.Marshal(rec)
	want := `{"seq":2,"run_id":4,"stage":"train","time":"2026-11-27T10:00:01Z","type":"start","step":0,"epoch":0,` +
		`"elapsed_s":0,"other":{"max_steps":20,"resumed":true}}`
	if string(raw) != want {
		t.Errorf("record\n got %s\nwant %s", raw, want)
	}
}

func TestParseLineKeepsBadLinesAsLogs(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"loading weights…", "loading weights…"},
		{`{"step":3}`, `{"step":3}`}, // no type: not an event
		{`{"type":"step","loss":"high"}`, "field loss"},
		{`{"type":"done","status":7}`, "field status"},
	} {
		r := ParseLine([]byte(tc.line))
		if r.Type != EventLog || !strings.Contains(r.Message, tc.want) {
			t.Errorf("%s: %+v, want a log record with %q", tc.line, r, tc.want)
		}
	}
	if r := ParseLine([]byte(`{"type":"error","error":"out of memory"}`)); r.Type != EventError || r.Message != "out of memory" || r.Other != nil {
		t.Errorf("error event: %+v", r)
	}
	if r := ParseLine([]byte(strings.Repeat("x", 10000))); len(r.Message) != maxLogBytes+len("…") {
		t.Errorf("a long line is kept whole (%d bytes)", len(r.Message))
	}
}

func TestNum(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if Num(v) != nil {
			t.Errorf("Num(%v) is not absent", v)
		}
	}
	if p := Num(0); p == nil || *p != 0 {
		t.Error("Num(0) must be present: a zero loss is a value")
	}
}
