package sft

import (
	"context"
	"testing"
)

// TestGradientCheckpointingTrainsTheSame: with LoRA dropout on, a run with
// --gradient-checkpointing logs the losses and gradient norms of the run
// without it (the recomputed layers redraw the same dropout masks), over a
// dense base and over an int4 one. The finite-difference checks of
// grad_test.go cover its gradients on their own.
func TestGradientCheckpointingTrainsTheSame(t *testing.T) {
	qdir, _ := quantizedToy(t, 4)
	for name, base := range map[string]string{"dense": toyModel(t, 3), "int4": qdir} {
		run := func(checkpoint bool) ([]float64, []float64) {
			c := toyRun(t, base)
			c.MaxSteps, c.LoraDropout, c.GradAccum, c.GradientCheckpointing = 8, 0.1, 2, checkpoint
			_, rec := train(t, context.Background(), c, NewDataset(toyTask(64, 1), toyTask(8, 2)), false)
			var norms []float64
			for _, e := range rec.of("step") {
				norms = append(norms, *e.GradNorm)
			}
			return losses(rec.events), norms
		}
		wantL, wantN := run(false)
		gotL, gotN := run(true)
		if len(gotL) != 8 || len(wantL) != 8 {
			t.Fatalf("%s: %d and %d steps", name, len(gotL), len(wantL))
		}
		for i := range wantL {
			// Equal to float32 rounding: only the order of a few gradient sums may differ.
			if d := gotL[i] - wantL[i]; d > 1e-5*wantL[i] || -d > 1e-5*wantL[i] || gotN[i] < wantN[i]*(1-1e-4) || gotN[i] > wantN[i]*(1+1e-4) {
				t.Fatalf("%s step %d: checkpointed loss %.7g grad norm %.7g, plain %.7g %.7g\n got %v\nwant %v",
					name, i+1, gotL[i], gotN[i], wantL[i], wantN[i], gotL, wantL)
			}
		}
		t.Logf("%s: loss %.5f → %.5f both ways; grad norms %v vs %v", name, gotL[0], gotL[7], gotN, wantN)
	}
}
