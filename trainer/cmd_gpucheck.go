package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"medqa/trainer/atomicfile"
	"medqa/trainer/gpucheck"
	"medqa/trainer/torch"
)

// The GPU bundle's check runner is a trainer verb rather than a third binary: the checks run exactly
// the trainer's code (model, LoRA, SFT, quantization), and the bundle must stay under 60 MiB, which a
// third copy of the Go runtime, libtorch binding and model code would eat into.
func init() {
	register("gpucheck", "run one check of the GPU bundle (run.sh drives it), or join their results", runGPUCheck)
}

func runGPUCheck(args []string) error {
	fs := flag.NewFlagSet("gpucheck", flag.ContinueOnError)
	device := fs.String("device", "cuda", "cpu, cuda or cuda:N")
	work := fs.String("work", "", "scratch folder shared by one run's checks (required)")
	bundle := fs.String("bundle", "", "the bundle's root (default: the folder above this binary's)")
	python := fs.String("python", "", "python with torch for the reference side (empty: none)")
	limit := fs.Duration("limit", 0, "the time limit run.sh gives this check: reference runs and loops are stopped a little before it")
	out := fs.String("out", "", "also write the JSON here (atomically)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: trainer gpucheck [flags] CHECK | report | list\n\nchecks:")
		for _, c := range gpucheck.Checks {
			fmt.Fprintf(fs.Output(), "  %-10s %s\n", c.Name, c.Summary)
		}
		fmt.Fprintln(fs.Output(), "  report     join the results in --work into one line (run.sh's last)\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want one check name, report or list")
	}
	if *work == "" && fs.Arg(0) != "list" {
		return errors.New("--work is required")
	}
	var res *gpucheck.Obj
	switch name := fs.Arg(0); name {
	case "list": // for run.sh: "name seconds" per line
		for _, c := range gpucheck.Checks {
			fmt.Println(c.Name, int(c.Limit.Seconds()))
		}
		return nil
	case "report":
		res = gpucheck.Report(*work)
	default:
		c, ok := gpucheck.Find(name)
		if !ok {
			return fmt.Errorf("unknown check %q (want %s, report or list)", name, strings.Join(names(), ", "))
		}
		if err := torch.Loaded(); err != nil {
			return err
		}
		dev, err := torch.ParseDevice(*device)
		if err != nil {
			return fmt.Errorf("--device: %v", err)
		}
		if dev.IsCUDA() && torch.CUDADeviceCount() <= int(dev) {
			return fmt.Errorf("--device %s: libtorch sees %d CUDA devices (is the shim built against a CUDA libtorch?)",
				*device, torch.CUDADeviceCount())
		}
		if *bundle == "" {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			*bundle = filepath.Dir(filepath.Dir(exe))
		}
		ctx := context.Background()
		opt := gpucheck.Options{Device: dev, Work: *work, Bundle: *bundle, Python: *python}
		if *limit > 0 {
			var cancel context.CancelFunc
			// Leave a few seconds to write the result before run.sh's timeout kills the process.
			ctx, cancel = context.WithTimeout(ctx, *limit-min(*limit/10, 10*time.Second))
			defer cancel()
		}
		res = gpucheck.Run(ctx, c, opt)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := atomicfile.WriteFile(*out, append(raw, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(string(raw))
	return nil
}

func names() []string {
	var n []string
	for _, c := range gpucheck.Checks {
		n = append(n, c.Name)
	}
	return n
}
