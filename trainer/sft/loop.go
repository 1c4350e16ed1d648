package sft

import (
	"context"
	"math"
	"slices"
	"time"

	"medqa/trainer/runspec"
	"medqa/trainer/torch"
)

// loop runs optimizer steps until the schedule ends, early stopping, or ctx
// is cancelled, then evaluates and publishes the final weights.
func (r *run) loop(ctx context.Context) (*Result, error) {
	c := r.cfg
	r.events.emit(runspec.Event{Type: runspec.EventStart, Step: r.state.Step, MaxSteps: r.sched.total, Epoch: r.state.Epoch, ElapsedS: r.priorElapsedS,
		Resumed: r.options.Resume, TrainableParams: r.trainable.count(), TrainExamples: len(r.dataset.Train), ValExamples: len(r.dataset.Validation),
		Device: r.dev.String(), Precision: map[bool]string{true: "bf16-autocast", false: "f32"}[r.mixed], RunDir: c.Out})
	status := runspec.StatusCompleted
	lastSaved, lastEval := r.state.Step, -1
	if !r.options.Resume {
		lastSaved = -1
	}
	for r.state.Step < r.sched.total {
		// A group stops together, after the step in which any rank was signalled (step sums the
		// requests with the gradients); a lone process stops before its next step.
		if (r.options.Dist.on() && r.stopAsked) || (!r.options.Dist.on() && ctx.Err() != nil) {
			status = runspec.StatusInterrupted
			break
		}
		r.step(ctx)
		if c.EvalEvery > 0 && r.state.Step%c.EvalEvery == 0 {
			lastEval = r.state.Step
			if stop, err := r.evaluate(); err != nil {
				return nil, err
			} else if stop {
				status = runspec.StatusEarlyStopped
			}
		}
		if c.SaveEvery > 0 && r.state.Step%c.SaveEvery == 0 {
			if err := r.checkpoint(); err != nil {
				return nil, err
			}
			lastSaved = r.state.Step
		}
		if status == runspec.StatusEarlyStopped {
			break
		}
	}
	if status == runspec.StatusInterrupted {
		if lastSaved != r.state.Step {
			if err := r.checkpoint(); err != nil {
				return nil, err
			}
		}
		r.events.emit(runspec.Event{Type: runspec.EventDone, Step: r.state.Step, MaxSteps: r.sched.total, Epoch: r.state.Epoch, ElapsedS: r.elapsed(),
			Loss: runspec.Num(r.state.Loss), Status: status, BestValLoss: r.state.BestValLoss, BestStep: r.state.BestStep})
		r.info.finish(r, status, "")
		return r.result(status, ""), r.writeInfo()
	}
	if lastEval != r.state.Step && len(r.dataset.Validation) > 0 {
		if _, err := r.evaluate(); err != nil {
			return nil, err
		}
	}
	if lastSaved != r.state.Step {
		if err := r.checkpoint(); err != nil {
			return nil, err
		}
	}
	out, err := r.publish(map[bool]string{false: AdapterDir, true: ModelDir}[c.Full])
	if err != nil {
		return nil, err
	}
	r.events.emit(runspec.Event{Type: runspec.EventDone, Step: r.state.Step, MaxSteps: r.sched.total, Epoch: r.state.Epoch, ElapsedS: r.elapsed(),
		Loss: runspec.Num(r.state.Loss), Status: status, Path: out, BestValLoss: r.state.BestValLoss, BestStep: r.state.BestStep})
	r.info.finish(r, status, out)
	return r.result(status, out), r.writeInfo()
}

func (r *run) result(status, out string) *Result {
	res := &Result{Status: status, Steps: r.state.Step, Loss: r.state.Loss, BestValLoss: math.NaN(), BestStep: r.state.BestStep, Output: out}
	if r.state.BestValLoss != nil {
		res.BestValLoss = *r.state.BestValLoss
	}
	return res
}

// microBatch returns the training batch at global micro-batch index g.
func (r *run) microBatch(g int64) batch { return makeBatch(r.dataset.Train, r.microIndices(g)) }

// microIndices returns the examples of the training batch at global micro-batch index g.
func (r *run) microIndices(g int64) []int {
	e := int(g / int64(r.batchesPerEpoch))
	if e != r.batchOrderEpoch {
		lengths := make([]int, len(r.dataset.Train))
		for i, ex := range r.dataset.Train {
			lengths[i] = len(ex.InputIDs)
		}
		r.batchOrder = epochOrder(lengths, r.cfg.BatchSize, r.cfg.GroupByLength, r.cfg.Seed, e)
		r.batchOrderEpoch = e
	}
	return r.batchOrder[g%int64(r.batchesPerEpoch)]
}

// splitmix64 spreads (seed, micro) over libtorch's seed space.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// step makes one optimizer update from GradAccum micro-batches. The loss is
// the mean over every learned token of the step (not the mean of the
// micro-batch means), so accumulation computes what one large batch would.
// In a group (dist.go) each rank computes its share of every micro-batch with
// the same global denominator, and the gradients are summed over the ranks.
func (r *run) step(ctx context.Context) {
	c := r.cfg
	d := r.options.Dist
	micro := make([]batch, c.GradAccum)
	targets, tokens := 0, 0
	for i := range micro {
		idx := r.microIndices(r.state.Micro + int64(i))
		full := makeBatch(r.dataset.Train, idx)
		targets += full.targets // the global counts: every rank knows the whole batch
		tokens += full.tokens
		if micro[i] = full; d.on() {
			micro[i] = makeBatch(r.dataset.Train, d.share(idx))
		}
	}
	lr := r.sched.lr(r.state.Step)
	r.optim.setLR(lr)
	r.m.Train = true
	var lossSum float64
	for i, b := range micro {
		if b.targets == 0 {
			continue
		}
		// Rank 0 draws what a lone process would; the others' dropout streams differ from it.
		torch.ManualSeed(splitmix64(c.Seed^uint64(r.state.Micro+int64(i))) + uint64(d.Rank))
		s := torch.NewScope()
		r.trainable.bind(s)
		lossSum += lossBackward(r.m, b, float64(targets), c.GradientCheckpointing)
		s.Close()
	}
	r.m.Train = false
	if d.on() {
		lossSum, r.stopAsked = r.reduceGrads(lossSum, ctx.Err() != nil)
	}
	gradNorm := r.clipGrads()
	r.optim.step()

	r.state.Step++
	r.state.Micro += int64(c.GradAccum)
	r.state.Epoch = float64(r.state.Micro) / float64(r.batchesPerEpoch)
	r.state.Tokens += int64(tokens)
	r.state.Loss = math.NaN()
	if targets > 0 {
		r.state.Loss = lossSum / float64(targets)
	}
	if c.LogEvery > 0 && (r.state.Step%c.LogEvery == 0 || r.state.Step == r.sched.total) {
		// Speed and time left are this process's: a resumed run may run on other hardware.
		ownSteps := r.state.Step - r.priorSteps
		ownS := time.Since(r.started).Seconds()
		eta := float64(r.sched.total-r.state.Step) * ownS / float64(max(1, ownSteps))
		r.events.emit(runspec.Event{Type: runspec.EventStep, Step: r.state.Step, MaxSteps: r.sched.total, Epoch: r.state.Epoch, Loss: runspec.Num(r.state.Loss),
			LR: runspec.Num(lr), GradNorm: runspec.Num(gradNorm), TokensPerS: runspec.Num(float64(r.state.Tokens-r.priorTokens) / ownS), ElapsedS: r.elapsed(), EtaS: runspec.Num(eta)})
	}
}

// reduceGrads sums the gradients over the ranks (LoRA: one flat bucket; full: buckets of
// BucketNumel), with this rank's loss sum and stop request riding in the first bucket; it returns
// the step's global loss sum and whether any rank asked to stop.
func (r *run) reduceGrads(lossSum float64, stop bool) (float64, bool) {
	s := torch.NewScope()
	defer s.Close()
	ps := make([]*torch.Tensor, len(r.trainable.ps))
	for i, p := range r.trainable.ps {
		ps[i] = p.master
	}
	bucket := int64(0)
	if r.cfg.Full {
		bucket = r.options.Dist.BucketNumel
		if bucket <= 0 {
			bucket = fullBucketNumel
		}
	}
	flag := 0.0
	if stop {
		flag = 1
	}
	// float32 like the gradients: the reported loss needs no more.
	extra := torch.FromSlice(s, []float32{float32(lossSum), float32(flag)}, 2).To(s, torch.Float32, r.dev)
	if err := torch.AllReduceGrads(ps, extra, bucket); err != nil {
		panic(&torch.Error{Msg: r.collectiveErr("the gradient allreduce", err).Error()})
	}
	v := torch.ToSlice[float32](extra.To(s, torch.Float32, torch.CPU))
	return float64(v[0]), v[1] > 0
}

// clipGrads scales the gradients so that their global L2 norm is at most
// MaxGradNorm (0: no clipping) and returns the norm before clipping.
func (r *run) clipGrads() float64 {
	limit := r.cfg.MaxGradNorm
	if limit == 0 {
		limit = math.Inf(1)
	}
	ps := make([]*torch.Tensor, len(r.trainable.ps))
	for i, p := range r.trainable.ps {
		ps[i] = p.master
	}
	norm, err := torch.ClipGradNorm(ps, limit)
	if err != nil {
		panic(err) // a *torch.Error: Run's guard turns it into the run's error
	}
	return norm
}

// evaluate computes the validation loss (mean over learned tokens) and
// perplexity, keeps the best weights, and reports whether patience ran out.
func (r *run) evaluate() (stop bool, err error) {
	if len(r.dataset.Validation) == 0 {
		return false, nil
	}
	exs := r.dataset.Validation
	if n := r.cfg.EvalSamples; n > 0 && n < len(exs) {
		exs = exs[:n]
	}
	// Longest first, fixed: the same batches every time, little padding.
	idx := make([]int, len(exs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return len(exs[b].InputIDs) - len(exs[a].InputIDs) })
	var sum float64
	var n int
	d := r.options.Dist
	torch.NoGrad(func() {
		for k, lo := 0, 0; lo < len(idx); k, lo = k+1, lo+r.cfg.BatchSize {
			if d.on() && k%d.World != d.Rank { // a group shares out the batches and sums below
				continue
			}
			b := makeBatch(exs, idx[lo:min(lo+r.cfg.BatchSize, len(idx))])
			if b.targets == 0 {
				continue
			}
			s := torch.NewScope()
			r.trainable.bind(s)
			sum += lossSum(r.m, b)
			n += b.targets
			s.Close()
		}
	})
	if d.on() {
		v := r.allreduce("the validation loss allreduce", sum, float64(n))
		sum, n = v[0], int(v[1])
	}
	vl := math.NaN()
	if n > 0 {
		vl = sum / float64(n)
	}
	best := n > 0 && (r.state.BestValLoss == nil || vl < *r.state.BestValLoss)
	ev := runspec.Event{Type: runspec.EventEval, Step: r.state.Step, MaxSteps: r.sched.total, Epoch: r.state.Epoch, ElapsedS: r.elapsed(),
		ValLoss: runspec.Num(vl), ValPPL: runspec.Num(math.Exp(vl)), Best: best}
	if best {
		r.state.BestValLoss, r.state.BestStep, r.state.BadEvals = runspec.Num(vl), r.state.Step, 0
		path, err := r.publish(BestDir)
		if err != nil {
			return false, err
		}
		ev.Path = path
	} else {
		r.state.BadEvals++
	}
	r.info.LastValLoss = runspec.Num(vl)
	r.events.emit(ev)
	return r.cfg.Patience > 0 && r.state.BadEvals >= r.cfg.Patience, nil
}
