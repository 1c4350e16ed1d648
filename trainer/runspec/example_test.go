package runspec_test

import (
	"encoding/json"
	"fmt"
	"math"

	"medqa/trainer/runspec"
)

// The server checks a run's settings against the same table the admin form
// is drawn from; the trainer receives each one as the named flag.
func ExampleField_Check() {
	r, _ := runspec.Lookup("lora_r")
	fmt.Printf("--%s, default %s, limits [%s, %s]\n", r.Flag, r.Default, runspec.Format(r.Min), runspec.Format(r.Max))
	fmt.Printf("16: %q\n", r.Check(16))
	fmt.Printf("2048: %q\n", r.Check(2048))

	save, _ := runspec.Lookup("save_every")
	fmt.Printf("save_every 0: %q\n", save.Check(0))
	fmt.Printf("save_every 5: %q\n", save.Check(5))
	// Output:
	// --lora-r, default 16, limits [1, 1024]
	// 16: ""
	// 2048: "must be within [1, 1024]"
	// save_every 0: ""
	// save_every 5: "must be 0 or within [10, 1000000]"
}

// The trainer writes one Event per line. A metric that is not a number
// (here a diverged gradient norm) is left out rather than written as NaN,
// which JSON cannot carry.
func ExampleEvent() {
	ev := runspec.Event{
		Type: runspec.EventStep, Time: "2026-12-04T20:00:00Z", Step: 10, MaxSteps: 100, Epoch: 0.5,
		Loss: runspec.Num(2.25), GradNorm: runspec.Num(math.NaN()), ElapsedS: 12,
	}
	line, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(line))
	// Output:
	// {"type":"step","time":"2026-12-04T20:00:00Z","step":10,"max_steps":100,"epoch":0.5,"loss":2.25,"elapsed_s":12}
}

// The server reads the trainer's output line by line: known metrics get
// fields of their own, other keys are kept in Other, the trainer's time
// stamp gives way to the server's, and a line that is not an event becomes
// a log record instead of breaking the run.
func ExampleParseLine() {
	r := runspec.ParseLine([]byte(`{"type":"eval","step":20,"val_loss":1.5,"rouge_l":0.31,"time":"2026-12-04T20:00:00Z"}`))
	fmt.Println(r.Type, *r.Step, *r.ValLoss, string(r.Other["rouge_l"]), len(r.Other), r.Time.IsZero())

	r = runspec.ParseLine([]byte("loading model assets/model"))
	fmt.Printf("%s: %s\n", r.Type, r.Message)
	// Output:
	// eval 20 1.5 0.31 1 true
	// log: loading model assets/model
}
