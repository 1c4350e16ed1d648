package sft

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"medqa/trainer/atomicfile"
	"medqa/trainer/lora"
	"medqa/trainer/modeldir"
	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
	"medqa/trainer/runspec"
	"medqa/trainer/torch"
)

// Options are the parts of a run that are not its configuration.
type Options struct {
	Resume   bool
	Events   io.Writer           // JSON lines (the CLI passes stdout); nil: only events.jsonl
	Progress io.Writer           // a human progress line (the CLI passes a terminal's stderr); nil: none
	OnEvent  func(runspec.Event) // called after each event is written (tests, embedding)
	// TokenizerDir is where the tokenizer came from ("" = the embedded Qwen2.5
	// tokenizer); --full runs copy its files into the final model directory.
	TokenizerDir string
	Version      string // code version for run.json
	// Dist places this process in a data-parallel group (dist.go); the zero value trains alone.
	// Ranks other than 0 write nothing into the run directory: their events go to Events only.
	Dist Dist
}

// Result summarises a finished (or interrupted) run.
type Result struct {
	Status      string
	Steps       int
	Loss        float64 // last step's training loss
	BestValLoss float64 // NaN when there was no validation
	BestStep    int
	Output      string // RUNDIR/adapter or RUNDIR/model ("" when interrupted)
}

// Files and folders of a run directory besides the checkpoints.
const (
	EventsFile = "events.jsonl"
	RunFile    = "run.json"
	AdapterDir = "adapter" // final adapter (PEFT layout)
	ModelDir   = "model"   // final model of a --full run (Hugging Face layout)
	BestDir    = "best"    // weights with the best validation loss, same layout
)

// run is the state of one training run.
type run struct {
	cfg        Config
	options    Options
	dataset    *Dataset
	m          *qwen2.Model
	loraConfig lora.Config // the adapters' (unused by --full)
	trainable  *trainables // the tensors the optimizer updates
	optim      *optimizer
	sched      schedule
	events     *emitter
	dev        torch.Device
	mixed      bool         // bf16 autocast over float32 masters
	state      trainerState // what a checkpoint saves: step, epoch, data position, best loss, ...

	batchesPerEpoch int
	batchOrder      [][]int // the batches of epoch batchOrderEpoch (example indices), in training order
	batchOrderEpoch int     // -1 before the first batch

	started time.Time // when this process took over the run
	// What earlier processes of a resumed run did, to tell this process's speed from the run's.
	priorElapsedS float64
	priorTokens   int64
	priorSteps    int
	info          runInfo
	// restarted: --resume found no checkpoint and the run starts over.
	restarted bool
	// stopAsked: a rank of the group was signalled during the last step (loop.go).
	stopAsked bool
}

// Run trains per cfg on ds, writing everything into cfg.Out. Cancelling ctx
// (SIGINT/SIGTERM in the CLI) finishes the current step, saves a checkpoint
// and returns a Result with status runspec.StatusInterrupted and no error.
func Run(ctx context.Context, cfg Config, ds *Dataset, opt Options) (res *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opt.Dist.validate(cfg); err != nil {
		return nil, err
	}
	// Grad mode and OpenMP teams belong to the OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if cfg.Threads > 0 {
		torch.SetNumThreads(cfg.Threads)
	}
	r := &run{cfg: cfg, options: opt, dataset: ds, started: time.Now()}
	defer func() {
		if r.m != nil {
			r.m.Close()
		}
		if r.optim != nil {
			r.optim.Close()
		}
	}()
	if err := r.setup(); err != nil {
		ev := runspec.Event{Type: runspec.EventError, Step: r.state.Step, Error: err.Error()}
		if r.events != nil {
			r.events.emit(ev)
			r.events.close()
		} else { // no run directory to write to yet: stdout and the hook only
			(&emitter{out: opt.Events, hook: opt.OnEvent}).emit(ev)
		}
		return nil, err
	}
	defer r.events.close()
	res, err = r.guardedLoop(ctx)
	if err == nil && opt.Dist.on() {
		// Every rank leaves together: rank 0 has published by now, and a rank that failed since the
		// last collective fails the others here instead of leaving them to exit as if all went well.
		if e := torch.Barrier(); e != nil {
			err = r.collectiveErr("the final barrier", e)
		}
	}
	if err != nil {
		r.events.emit(runspec.Event{Type: runspec.EventError, Step: r.state.Step, MaxSteps: r.sched.total, Epoch: r.state.Epoch, ElapsedS: r.elapsed(), Error: err.Error()})
		r.info.finish(r, "failed", "")
		r.writeInfo()
	}
	return res, err
}

// writeInfo writes run.json (rank 0 alone).
func (r *run) writeInfo() error {
	if !r.options.Dist.lead() {
		return nil
	}
	return r.info.write(r.cfg.Out)
}

// guardedLoop turns libtorch failures (out of memory, device errors) into an
// error, so that they reach the event stream and run.json.
func (r *run) guardedLoop(ctx context.Context) (res *Result, err error) {
	defer torch.Recover(&err)
	return r.loop(ctx)
}

// setup resolves the device, loads the model and weights (fresh or from the
// latest checkpoint), builds the optimizer, and opens the event stream.
func (r *run) setup() (err error) {
	defer torch.Recover(&err)
	c := r.cfg
	var ckDir string
	if r.options.Resume {
		// A run stopped before its first checkpoint has nothing to resume:
		// it starts over, which is what a launcher re-queueing it wants.
		if steps, err := checkpointSteps(c.Out); err != nil {
			return err
		} else if len(steps) == 0 {
			r.options.Resume, r.restarted = false, true
		}
	}
	if r.options.Resume {
		if r.state, ckDir, err = latestCheckpoint(c.Out); err != nil {
			return err
		}
		if d := r.state.Config.Differences(c); len(d) > 0 {
			return fmt.Errorf("--resume: the run in %s was started with different settings (%v); resume with the original flags or use a new --out",
				c.Out, d)
		}
		if saved, now := max(1, r.state.WorldSize), max(1, r.options.Dist.World); saved != now {
			return fmt.Errorf("--resume: the run in %s was trained by %d processes and this is one of %d; resume it with %d (WORLD_SIZE or --nproc-per-node)",
				c.Out, saved, now, saved)
		}
	} else if _, err := os.Stat(filepath.Join(c.Out, EventsFile)); err == nil && !r.restarted && r.options.Dist.lead() {
		return fmt.Errorf("%s already holds a run (%s); pass --resume to continue it, or choose another --out", c.Out, EventsFile)
	}
	if r.dev, err = ResolveDevice(c.Device, r.options.Dist); err != nil {
		return err
	}
	r.mixed = c.Precision == "bf16" || (c.Precision == "auto" && r.dev.IsCUDA())
	if r.options.Dist.lead() {
		if err := os.MkdirAll(c.Out, 0o755); err != nil {
			return err
		}
	}
	if err := r.loadModel(ckDir); err != nil {
		return err
	}
	if err := r.dataset.checkVocab(r.m.Config.VocabSize); err != nil {
		return err
	}
	r.optim = newOptimizer(r.trainable, c)

	if c.Packing {
		r.dataset.Train = pack(r.dataset.Train, c.MaxLength, c.Seed)
		r.dataset.Stats.EncodeSettings.Packed = len(r.dataset.Train)
	}
	r.batchesPerEpoch = (len(r.dataset.Train) + c.BatchSize - 1) / c.BatchSize
	total := c.MaxSteps
	if total == 0 {
		total = int(math.Ceil(c.Epochs * float64(r.batchesPerEpoch) / float64(c.GradAccum)))
	}
	r.sched = newSchedule(c, total)
	r.batchOrderEpoch = -1

	if r.options.Resume {
		if r.state.TrainExamples != len(r.dataset.Train) || r.state.BatchesPerEpoch != r.batchesPerEpoch || r.state.DataHash != r.dataset.trainHash() {
			return fmt.Errorf("--resume: the training data changed since the checkpoint (%d sequences in %d batches, hash %s then; %d in %d, hash %s now)",
				r.state.TrainExamples, r.state.BatchesPerEpoch, r.state.DataHash, len(r.dataset.Train), r.batchesPerEpoch, r.dataset.trainHash())
		}
		if len(r.state.OptSteps) != len(r.trainable.ps) {
			return fmt.Errorf("corrupt checkpoint %s: optimizer state for %d tensors, the run trains %d", ckDir, len(r.state.OptSteps), len(r.trainable.ps))
		}
		if err := readOptimizer(ckDir, r.state, r.optim); err != nil {
			return err
		}
		r.priorElapsedS, r.priorTokens, r.priorSteps = r.state.ElapsedS, r.state.Tokens, r.state.Step
	} else {
		r.state = trainerState{Format: stateFormat, TrainExamples: len(r.dataset.Train), BatchesPerEpoch: r.batchesPerEpoch, DataHash: r.dataset.trainHash(), RNG: rngRule,
			Weights: map[bool]string{false: "adapter", true: "model"}[c.Full], Config: c}
		if r.options.Dist.on() {
			r.state.WorldSize = r.options.Dist.World
		}
	}
	r.state.MaxSteps, r.state.WarmupSteps = total, r.sched.warmup

	if !r.options.Dist.lead() {
		r.events = &emitter{out: r.options.Events, hook: r.options.OnEvent}
		r.info = newRunInfo(r)
		return r.agree()
	}
	f, offset, err := openEvents(filepath.Join(c.Out, EventsFile), r.state.EventsBytes, !r.options.Resume)
	if err != nil {
		return err
	}
	r.events = &emitter{out: r.options.Events, file: f, offset: offset, progress: r.options.Progress, hook: r.options.OnEvent}
	r.info = newRunInfo(r)
	if err := r.info.write(c.Out); err != nil {
		return err
	}
	return r.agree()
}

// ResolveDevice reads --device ("" is auto). In a group, auto and cuda mean this node's GPU
// number LOCAL_RANK (modulo the GPUs there), as torchrun's one process per GPU expects.
func ResolveDevice(s string, dist Dist) (torch.Device, error) {
	if s == "" {
		s = "auto"
	}
	d, err := torch.ParseDevice(s)
	if err != nil {
		return d, fmt.Errorf("--device: %v", err)
	}
	if n := torch.CUDADeviceCount(); dist.on() && (s == "auto" || s == "cuda") && d.IsCUDA() && n > 0 {
		d = torch.CUDA(dist.LocalRank % n)
	}
	return d, nil
}

// loadModel builds the model and its trainable tensors, from ckDir when resuming.
func (r *run) loadModel(ckDir string) (err error) {
	c := r.cfg
	switch {
	case c.Full:
		if qc, err := quant.ReadConfig(c.Model); c.Model != "" && err == nil && qc != nil {
			return fmt.Errorf("--full: %s is an int%d quantized model; full training needs float weights: train LoRA adapters over it (QLoRA, without --full), or pass the float model it was quantized from",
				c.Model, qc.Bits)
		}
		src := c.Model
		if ckDir != "" {
			src = filepath.Join(ckDir, "model")
		}
		if src != "" {
			r.m, err = qwen2.Load(src, torch.Float32, r.dev)
		} else {
			var mc qwen2.Config
			if mc, err = qwen2.LoadConfig(c.InitConfig); err == nil {
				r.m, err = newFromScratch(mc, c.Seed, r.dev)
			}
		}
		if err != nil {
			if ckDir != "" {
				return fmt.Errorf("corrupt checkpoint: %v", err)
			}
			return err
		}
		compute := torch.Float32
		if r.mixed {
			compute = torch.BFloat16
			r.m.DType = compute // the forward pass builds masks and rotary tables in the compute dtype
		}
		r.trainable, err = fullTrainables(r.m, r.mixed, compute)
		return err
	default:
		dt := torch.Float32
		if r.mixed {
			dt = torch.BFloat16 // frozen base weights in bf16; the adapters stay float32 masters
		}
		// A quantized base stays packed (QLoRA): its products dequantize a
		// block of rows at a time, forward and backward (torch.QLinear).
		if r.m, err = modeldir.Load(c.Model, dt, r.dev); err != nil {
			return err
		}
		if r.loraConfig, err = c.LoRA(); err != nil {
			return err
		}
		if ckDir != "" {
			if _, err := lora.Load(filepath.Join(ckDir, "adapter"), r.m, torch.Float32); err != nil {
				return fmt.Errorf("corrupt checkpoint: %v", err)
			}
		} else if err := lora.Attach(r.m, r.loraConfig, c.Seed, torch.Float32); err != nil {
			return err
		}
		r.trainable = loraTrainables(r.m, r.mixed)
		return nil
	}
}

// newFromScratch draws a model as transformers initialises Qwen2 before
// training: weights normal(0, 0.02), norms one, biases zero.
func newFromScratch(mc qwen2.Config, seed uint64, dev torch.Device) (*qwen2.Model, error) {
	m, err := qwen2.NewRandom(mc, seed, torch.Float32, dev)
	if err != nil {
		return nil, err
	}
	torch.NoGrad(func() {
		for _, p := range m.Params() {
			n := p.Name
			switch {
			case len(n) > 12 && n[len(n)-12:] == "norm.weight":
				p.Tensor.Fill_(1)
			case len(n) > 5 && n[len(n)-5:] == ".bias":
				p.Tensor.Fill_(0)
			}
		}
	})
	return m, nil
}

func (r *run) elapsed() float64 { return r.priorElapsedS + time.Since(r.started).Seconds() }

// saveWeights writes the trained tensors into dir: the adapter (PEFT layout)
// or, for --full, the float32 model (config.json + model.safetensors).
func (r *run) saveWeights(dir string) error {
	r.trainable.unbind()
	if !r.cfg.Full {
		return lora.Save(dir, r.m, r.loraConfig)
	}
	dt := r.m.DType
	r.m.DType = torch.Float32 // the masters are float32 whatever the compute dtype
	defer func() { r.m.DType = dt }()
	return r.m.Save(dir)
}

// publish writes weights to RUNDIR/name atomically (rank 0 alone; the others return the path).
func (r *run) publish(name string) (string, error) {
	dst := filepath.Join(r.cfg.Out, name)
	if !r.options.Dist.lead() {
		return dst, nil
	}
	if r.cfg.Full {
		r.trainable.unbind()
		dt := r.m.DType
		r.m.DType = torch.Float32
		defer func() { r.m.DType = dt }()
		return dst, modeldir.Write(dst, r.m, r.cfg.Model, r.options.TokenizerDir)
	}
	tmp, err := os.MkdirTemp(r.cfg.Out, "."+name+".tmp-")
	if err != nil {
		return "", err
	}
	if err := r.saveWeights(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return dst, atomicfile.PublishDir(tmp, dst)
}

// checkpoint saves the run's state (rank 0 alone: every rank holds the same weights and optimizer state).
func (r *run) checkpoint() error {
	if !r.options.Dist.lead() {
		return nil
	}
	r.state.ElapsedS = r.elapsed()
	r.state.LR = r.sched.lr(max(0, r.state.Step-1))
	// The event comes first so that the recorded offset includes it.
	path := filepath.Join(r.cfg.Out, checkpointsDir, fmt.Sprintf("step-%d", r.state.Step))
	ev := runspec.Event{Type: runspec.EventCheckpoint, Step: r.state.Step, MaxSteps: r.sched.total, Epoch: r.state.Epoch, ElapsedS: r.state.ElapsedS, Path: path}
	line, ev := r.events.encode(ev)
	r.state.EventsBytes = r.events.offset + int64(len(line))
	if _, err := writeCheckpoint(r.cfg.Out, r.state, r.optim, r.saveWeights); err != nil {
		return fmt.Errorf("checkpoint at step %d: %v", r.state.Step, err)
	}
	r.events.write(line, ev)
	return prune(r.cfg.Out, r.cfg.KeepCheckpoints, r.state.BestStep)
}
