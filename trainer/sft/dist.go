package sft

import (
	"errors"
	"fmt"

	"medqa/trainer/torch"
)

// Dist is this process's place in a data-parallel group whose c10d process group the caller has
// already joined (torch.InitProcessGroup). The zero value, or World 1, trains alone.
//
// The semantics are those of one process on the same global batch: Config.BatchSize stays the
// global micro-batch, every rank builds the same batch order and takes a contiguous share of each
// batch (rank r: rows r*B/W to (r+1)*B/W), scales its loss by the global count of learned tokens,
// and the gradients are summed over the ranks before clipping and the optimizer step, which every
// rank then makes identically. Rank 0 alone writes the run directory.
type Dist struct {
	Rank, World int
	LocalRank   int // the rank among this machine's processes: its GPU with --device auto or cuda
	// BucketNumel caps the elements of one gradient allreduce for full training (0: the default);
	// LoRA's adapters always go in one flat bucket.
	BucketNumel int64
}

// fullBucketNumel, 16 Mi float32 (64 MiB) per allreduce, bounds the extra memory of full training's
// flat buffers while keeping round trips few (Qwen2.5-0.5B's 494 M parameters: about 30 buckets).
const fullBucketNumel = 16 << 20

func (d Dist) on() bool   { return d.World > 1 }
func (d Dist) lead() bool { return d.Rank == 0 }

// share is rank's contiguous part of a global batch's example indices.
func (d Dist) share(idx []int) []int {
	if !d.on() {
		return idx
	}
	n := len(idx)
	return idx[d.Rank*n/d.World : (d.Rank+1)*n/d.World]
}

func (d Dist) validate(c Config) error {
	if d.World < 0 || d.Rank < 0 || (d.World > 0 && d.Rank >= d.World) {
		return fmt.Errorf("rank %d outside world size %d", d.Rank, d.World)
	}
	if d.on() && c.BatchSize%d.World != 0 {
		return fmt.Errorf("--batch-size %d: the global batch must divide by the %d processes (each takes an equal share)", c.BatchSize, d.World)
	}
	return nil
}

// collectiveErr explains a failed collective: on a healthy group one fails only when a rank died,
// hung past the timeout, or the network broke.
func (r *run) collectiveErr(what string, err error) error {
	var te *torch.Error
	if errors.As(err, &te) {
		err = errors.New(te.Msg) // the caller wraps the whole in a torch.Error again
	}
	return fmt.Errorf("rank %d of %d: %s at step %d failed, so another rank died, hung past the timeout or became unreachable (the launcher's log names the rank that failed first): %v",
		r.options.Dist.Rank, r.options.Dist.World, what, r.state.Step+1, err)
}

// allreduce sums vals over the ranks, in float64 on the run's device (NCCL reduces CUDA tensors only).
func (r *run) allreduce(what string, vals ...float64) []float64 {
	s := torch.NewScope()
	defer s.Close()
	t := torch.FromSlice(s, vals, int64(len(vals))).To(s, torch.Float64, r.dev)
	if err := torch.AllReduce(t); err != nil {
		panic(&torch.Error{Msg: r.collectiveErr(what, err).Error()})
	}
	return torch.ToSlice[float64](t.To(s, torch.Float64, torch.CPU))
}

// agree checks, once after setup, that every rank starts from the same position with the same
// number of trained parameters: a rank that saw no checkpoint (an unshared run directory) or other
// data would otherwise train silently on different weights.
func (r *run) agree() error {
	if !r.options.Dist.on() {
		return nil
	}
	own := []float64{float64(r.state.Step), float64(r.trainable.count()), float64(len(r.dataset.Train)), 1}
	sum := r.allreduce("the start check", own...)
	w := float64(r.options.Dist.World)
	if sum[3] != w {
		return fmt.Errorf("rank %d: %v ranks answered the start check, want %v", r.options.Dist.Rank, sum[3], w)
	}
	for i, what := range []string{"starts at step", "trains parameters", "has training sequences"} {
		if sum[i] != own[i]*w {
			return fmt.Errorf("rank %d %s %v but the ranks disagree (sum %v over %v ranks): every rank needs the same --data and, to resume, the same run directory (shared storage)",
				r.options.Dist.Rank, what, own[i], sum[i], w)
		}
	}
	return nil
}
