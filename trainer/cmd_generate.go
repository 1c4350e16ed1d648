package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"medqa/trainer/data"
	"medqa/trainer/modeldir"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

func init() {
	register("generate", "continue a prompt with a model, streaming tokens to stdout", runGenerate)
}

func runGenerate(args []string) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	model := fs.String("model", "", "Hugging Face model directory")
	idList := fs.String("ids", "", "prompt as comma-separated token ids")
	prompt := fs.String("prompt", "", "prompt text: the user turn of a chat prompt, or plain text with --raw")
	raw := fs.Bool("raw", false, "use --prompt as plain text, without the chat template")
	dtype := fs.String("dtype", "f32", "run dtype: f32, bf16, f16")
	device := fs.String("device", "cpu", "cpu, cuda or cuda:N")
	maxNew := fs.Int("max-new-tokens", 0, "tokens to generate at most (default: generation_config.json, else 512)")
	temp := fs.Float64("temperature", 0, "sampling temperature; 0 is greedy (default: generation_config.json)")
	topK := fs.Int("top-k", 0, "keep the k most likely tokens; 0 is off")
	topP := fs.Float64("top-p", 1, "nucleus sampling mass; 1 is off")
	rep := fs.Float64("repetition-penalty", 1, "penalty for tokens already in the sequence; 1 is off")
	seed := fs.Uint64("seed", 0, "sampling seed")
	stop := fs.String("stop", "", "comma-separated stop token ids (default: the model's eos ids, <|im_end|> and <|endoftext|>)")
	system := fs.String("system", data.DefaultSystemPrompt, "system turn of the chat prompt (\"\" for the template's default)")
	verbose := fs.Bool("v", false, "print libtorch, BLAS and speed details on stderr")
	threads := fs.Int("threads", 0, "CPU threads for libtorch and the quantized kernels (0: all cores)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *threads > 0 {
		torch.SetNumThreads(*threads)
	}
	if *model == "" {
		return errors.New("--model is required")
	}
	// The model directory's tokenizer (or the embedded one): it renders --prompt and names
	// the stop tokens, whichever way the prompt is given.
	tok, tmpl, _, err := modeldir.Tokenizer(*model)
	if err != nil {
		return err
	}
	var (
		ids []int64
		dec *tokenizer.StreamDecoder // nil: print ids
	)
	switch {
	case *idList != "" && *prompt != "":
		return errors.New("give --ids or --prompt, not both")
	case *idList != "":
		if ids, err = parseIDs(*idList); err != nil {
			return err
		}
	case *prompt != "":
		text := *prompt
		if !*raw {
			msgs := []chat.Message{{Role: "user", Content: *prompt}}
			if *system != "" {
				msgs = append([]chat.Message{{Role: "system", Content: *system}}, msgs...)
			}
			if text, err = tmpl.Render(msgs, true); err != nil {
				return err
			}
		}
		for _, id := range tok.Encode(text) {
			ids = append(ids, int64(id))
		}
		dec = tok.NewStreamDecoder()
	default:
		return errors.New("--ids (or --prompt) is required")
	}

	start := time.Now()
	m, err := loadModel(*model, *dtype, *device)
	if err != nil {
		return err
	}
	defer m.Close()
	gc, err := qwen2.LoadGenerationConfig(*model, m.Config)
	if err != nil {
		return err
	}
	opt := gc.Options()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["max-new-tokens"] {
		opt.MaxNewTokens = *maxNew
	}
	if set["temperature"] {
		opt.Temperature = *temp
	}
	if set["top-k"] {
		opt.TopK = *topK
	}
	if set["top-p"] {
		opt.TopP = *topP
	}
	if set["repetition-penalty"] {
		opt.RepetitionPenalty = *rep
	}
	if set["stop"] {
		if opt.StopIDs, err = parseIDs(*stop); err != nil {
			return fmt.Errorf("--stop: %w", err)
		}
	} else {
		opt.StopIDs = modeldir.StopIDs(tok, gc, m.Config.VocabSize)
	}
	opt.Seed = *seed
	if *verbose {
		fmt.Fprintf(os.Stderr, "libtorch %s, BLAS %s, %d threads; loaded %s in %.1fs\n",
			strings.SplitN(torch.Version(), "\n", 2)[0], torch.BLAS(), torch.NumThreads(), *model, time.Since(start).Seconds())
	}

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stopSignals()
	var first time.Time
	opt.OnToken = func(_ int, id int64) error {
		if first.IsZero() {
			first = time.Now()
		}
		if dec != nil {
			_, err := fmt.Print(dec.Push(int(id)))
			return err
		}
		_, err := fmt.Printf("%d ", id)
		return err
	}
	t0 := time.Now()
	res, err := m.Generate(ctx, ids, opt)
	if dec != nil {
		fmt.Print(dec.Flush())
	}
	fmt.Println()
	if *verbose && len(res.Tokens) > 0 {
		decode := time.Since(first).Seconds()
		fmt.Fprintf(os.Stderr, "%d tokens (%s); prefill %.2fs for %d tokens; decode %.2f tok/s\n", len(res.Tokens), res.Reason,
			first.Sub(t0).Seconds(), len(ids), float64(len(res.Tokens)-1)/max(decode, 1e-9))
	}
	return err
}
