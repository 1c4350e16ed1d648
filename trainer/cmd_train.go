package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"medqa/trainer/data"
	"medqa/trainer/runspec"
	"medqa/trainer/sft"
)

func init() {
	register("train", "fine-tune a model (LoRA or full) on a split directory", runTrain)
}

// trainFlags binds the train verb's flags to a Config holding the defaults.
func trainFlags(c *sft.Config, resume *bool, df *distFlags) *flag.FlagSet {
	fl := flag.NewFlagSet("train", flag.ContinueOnError)
	fl.StringVar(&c.Model, "model", c.Model, "base model directory: Hugging Face layout, or a medqa int8/int4 one (trained over as a frozen quantized base: QLoRA)")
	fl.StringVar(&c.InitConfig, "init-config", c.InitConfig, "config.json of a model to train from random weights (with --full, instead of --model)")
	fl.StringVar(&c.Data, "data", c.Data, "split directory with train.jsonl and validation.jsonl (from `trainer data`)")
	fl.StringVar(&c.Out, "out", c.Out, "run directory: events.jsonl, run.json, checkpoints/, adapter/ or model/, best/")
	fl.StringVar(&c.Tokenizer, "tokenizer", c.Tokenizer, "tokenizer directory (default: --model's if it has tokenizer.json, else the embedded Qwen2.5 tokenizer)")
	fl.StringVar(&c.Template, "template", c.Template, "chat template: base or instruct (default: the tokenizer's tokenizer_config.json)")
	fl.IntVar(&c.MaxSteps, "max-steps", c.MaxSteps, "optimizer steps (overrides --epochs)")
	fl.Float64Var(&c.Epochs, "epochs", c.Epochs, "passes over the training data (may be fractional)")
	fl.BoolVar(&c.Full, "full", c.Full, "train every weight instead of LoRA adapters")
	fl.IntVar(&c.LoraR, "lora-r", c.LoraR, "LoRA rank")
	fl.Float64Var(&c.LoraAlpha, "lora-alpha", c.LoraAlpha, "LoRA alpha (scale alpha/r)")
	fl.Float64Var(&c.LoraDropout, "lora-dropout", c.LoraDropout, "dropout on the adapters' input")
	fl.StringVar(&c.TargetModules, "target-modules", c.TargetModules, "all-linear or a subset of q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
	fl.BoolVar(&c.UseRSLoRA, "use-rslora", c.UseRSLoRA, "scale adapters by alpha/sqrt(r) (rank-stabilised LoRA)")
	fl.Float64Var(&c.LR, "lr", c.LR, "peak learning rate")
	fl.Float64Var(&c.Beta1, "beta1", c.Beta1, "AdamW beta1")
	fl.Float64Var(&c.Beta2, "beta2", c.Beta2, "AdamW beta2")
	fl.Float64Var(&c.Eps, "eps", c.Eps, "AdamW epsilon")
	fl.Float64Var(&c.WeightDecay, "weight-decay", c.WeightDecay, "AdamW decoupled weight decay")
	fl.StringVar(&c.Schedule, "schedule", c.Schedule, "learning-rate decay after warmup: cosine, linear or constant")
	fl.IntVar(&c.WarmupSteps, "warmup-steps", c.WarmupSteps, "linear warmup steps (overrides --warmup-ratio)")
	fl.Float64Var(&c.WarmupRatio, "warmup-ratio", c.WarmupRatio, "warmup as a fraction of the steps")
	fl.Float64Var(&c.MaxGradNorm, "max-grad-norm", c.MaxGradNorm, "clip the global gradient norm to this (0: off)")
	fl.IntVar(&c.BatchSize, "batch-size", c.BatchSize, "sequences per micro-batch")
	fl.IntVar(&c.GradAccum, "grad-accum", c.GradAccum, "micro-batches per optimizer step")
	fl.IntVar(&c.MaxLength, "max-length", c.MaxLength, "tokens per example (longer ones are truncated, keeping the answer's start)")
	fl.BoolVar(&c.AllTokens, "all-tokens", c.AllTokens, "learn every token, prompt included (default: the answer only)")
	fl.BoolVar(&c.GradientCheckpointing, "gradient-checkpointing", c.GradientCheckpointing, "recompute each decoder layer during the backward instead of keeping its activations (less memory, one more forward pass, the same gradients)")
	fl.BoolVar(&c.Packing, "packing", c.Packing, "concatenate short examples into sequences of up to --max-length tokens")
	fl.BoolVar(&c.GroupByLength, "group-by-length", c.GroupByLength, "batch examples of similar length together (less padding)")
	fl.IntVar(&c.EvalEvery, "eval-every", c.EvalEvery, "validate every N steps (0: only at the end)")
	fl.IntVar(&c.EvalSamples, "eval-samples", c.EvalSamples, "validate on the first N validation examples (0: all)")
	fl.IntVar(&c.Patience, "patience", c.Patience, "stop after N validations without a better loss (0: never)")
	fl.IntVar(&c.SaveEvery, "save-every", c.SaveEvery, "checkpoint every N steps (0: only at the end and on interrupt)")
	fl.IntVar(&c.KeepCheckpoints, "keep-checkpoints", c.KeepCheckpoints, "keep the newest N checkpoints (and the best); 0: all")
	fl.Uint64Var(&c.Seed, "seed", c.Seed, "seed of adapter init, data order and dropout")
	fl.StringVar(&c.Device, "device", c.Device, "auto, cpu, cuda or cuda:N")
	fl.StringVar(&c.Precision, "precision", c.Precision, "auto (bf16 autocast on CUDA, f32 on CPU), f32 or bf16")
	fl.IntVar(&c.Threads, "threads", c.Threads, "libtorch threads (0: all cores)")
	fl.IntVar(&c.LogEvery, "log-every", c.LogEvery, "emit a step event every N steps")
	fl.BoolVar(resume, "resume", false, "continue the run in --out from its latest checkpoint")
	df.bind(fl)
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), `usage: trainer train --model DIR --data SPLITDIR --out RUNDIR [flags]
       trainer train --full --init-config CONFIG.json --data SPLITDIR --out RUNDIR [flags]

Events go to stdout and RUNDIR/events.jsonl as JSON lines (types start, step,
eval, checkpoint, done, error); a progress line goes to stderr on a terminal.
SIGINT/SIGTERM save a checkpoint; --resume with the same --out continues.
With WORLD_SIZE > 1 (torchrun) or --nproc-per-node N it trains data-parallel:
--batch-size stays the global batch (docs/distributed.md).

`)
		fl.PrintDefaults()
	}
	return fl
}

func runTrain(args []string) (err error) {
	cfg := sft.Defaults()
	var resume bool
	var df distFlags
	fl := trainFlags(&cfg, &resume, &df)
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	env, err := readDistEnv()
	if err != nil {
		return err
	}
	switch {
	case df.nproc < 1:
		return fmt.Errorf("--nproc-per-node %d: must be at least 1", df.nproc)
	case df.nproc > 1:
		if cfg.BatchSize%df.nproc != 0 { // before starting anyone
			err = fmt.Errorf("--batch-size %d: the global batch must divide by the %d processes (each takes an equal share)", cfg.BatchSize, df.nproc)
		} else {
			err = launchLocal(df.nproc, withoutFlag(args, "nproc-per-node"), df.timeout+30*time.Second)
		}
		if err != nil { // last on stdout, after rank 0's own error event: the one that names the rank
			errorEvent(os.Stdout, err)
		}
		return err
	}
	// Ranks other than 0 report on stderr, each line prefixed with the rank.
	stdout := io.Writer(os.Stdout)
	if env.rank > 0 {
		stdout = rankWriter{os.Stderr, env.rank}
	}
	if resume {
		has, err := sft.HasCheckpoint(cfg.Out)
		if err != nil {
			return err
		}
		if !has {
			fmt.Fprintf(os.Stderr, "trainer train: no checkpoint in %s yet; starting from the beginning\n", cfg.Out)
		} else if cfg, err = resumeConfig(fl, cfg); err != nil {
			return err
		}
	}
	if env.world > 1 && cfg.Threads == 0 {
		// torchrun sets OMP_NUM_THREADS (1 by default) so that workers share the cores.
		if n, err := strconv.Atoi(os.Getenv("OMP_NUM_THREADS")); err == nil && n > 0 {
			cfg.Threads = n
		}
	}
	ran := false
	defer func() {
		if err != nil && !ran { // the admin page learns about failures before the run started too
			errorEvent(stdout, err)
		}
	}()
	if err := cfg.Validate(); err != nil {
		return err
	}
	tokDir := cfg.Tokenizer
	if tokDir == "" && cfg.Model != "" {
		if _, err := os.Stat(filepath.Join(cfg.Model, "tokenizer.json")); err == nil {
			tokDir = cfg.Model
		}
	}
	tok, tmpl, tmplErr, err := loadTokenize(tokDir, cfg.Template)
	if err != nil {
		return fmt.Errorf("tokenizer: %v", err)
	}
	if tmplErr != nil {
		return fmt.Errorf("chat template: %v (pass --template base or instruct)", tmplErr)
	}
	ds, err := sft.LoadData(cfg.Data, tok, tmpl, data.EncodeOptions{MaxLength: cfg.MaxLength, AllTokens: cfg.AllTokens})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	opts := sft.Options{Resume: resume, Events: stdout, TokenizerDir: tokDir, Version: codeVersion()}
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && env.rank == 0 {
		opts.Progress = os.Stderr
	}
	if env.world > 1 {
		var leave func()
		if opts.Dist, leave, err = joinGroup(env, df, cfg); err != nil {
			return err
		}
		defer leave()
	}
	ran = true // from here on, Run reports its own errors as events
	res, err := sft.Run(ctx, cfg, ds, opts)
	if err != nil {
		return err
	}
	if res.Status == runspec.StatusInterrupted {
		fmt.Fprintf(os.Stderr, "trainer train: interrupted at step %d; checkpoint saved, continue with --resume --out %s\n", res.Steps, cfg.Out)
	}
	return nil
}

// errorEvent writes err as an error event line.
func errorEvent(w io.Writer, err error) {
	line, _ := json.Marshal(runspec.Event{Type: runspec.EventError, Error: err.Error()})
	fmt.Fprintln(w, string(line))
}

// resumeConfig takes the run's settings from its latest checkpoint; flags
// given on the command line must agree with them, except those that only
// change what is observed and kept (sft.Adjustable).
func resumeConfig(fl *flag.FlagSet, given sft.Config) (sft.Config, error) {
	saved, err := sft.CheckpointConfig(given.Out)
	if err != nil {
		return given, fmt.Errorf("--resume: %v", err)
	}
	var g, s map[string]any
	raw, _ := json.Marshal(given)
	json.Unmarshal(raw, &g)
	raw, _ = json.Marshal(saved)
	json.Unmarshal(raw, &s)
	var conflicts []string
	fl.Visit(func(f *flag.Flag) {
		k := strings.ReplaceAll(f.Name, "-", "_")
		if _, ok := s[k]; !ok {
			return
		}
		adjustable := false
		for _, a := range sft.Adjustable {
			adjustable = adjustable || a == k
		}
		switch {
		case adjustable:
			s[k] = g[k]
		case fmt.Sprint(g[k]) != fmt.Sprint(s[k]):
			conflicts = append(conflicts, fmt.Sprintf("--%s %v (the run has %v)", f.Name, g[k], s[k]))
		}
	})
	if len(conflicts) > 0 {
		return given, fmt.Errorf("--resume: %s; a resumed run keeps its settings", strings.Join(conflicts, ", "))
	}
	raw, _ = json.Marshal(s)
	var out sft.Config
	if err := json.Unmarshal(raw, &out); err != nil {
		return given, err
	}
	return out, nil
}

// codeVersion is the VCS revision stamped into the binary, or `git describe`
// of the working directory (go run does not stamp one).
func codeVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
	}
	out, err := exec.Command("git", "describe", "--always", "--dirty", "--tags").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
