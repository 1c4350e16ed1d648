package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"medqa/assets"
	"medqa/trainer/gguf"
	"medqa/trainer/quant"
)

func init() {
	register("export", "write a model as a GGUF file for llama.cpp and Ollama (f16, q8_0 or q4_0)", runExport)
}

func runExport(args []string) error {
	fl := flag.NewFlagSet("export", flag.ContinueOnError)
	model := fl.String("model", "", "model directory (Hugging Face layout, e.g. a merged model, or medqa-quantized)")
	out := fl.String("out", "", "output .gguf file")
	typ := fl.String("type", "q8_0", "tensor type of the matrices: f32, f16, q8_0 or q4_0 (q4_0 keeps the embedding q8_0, as medqa's int4 does)")
	tok := fl.String("tokenizer", "", "directory with tokenizer.json and tokenizer_config.json (default: --model's, else the embedded Qwen2.5 base tokenizer)")
	instruct := fl.Bool("instruct", false, "with the embedded tokenizer: use the Qwen2.5 Instruct tokenizer_config (eos <|im_end|>, its system prompt)")
	name := fl.String("name", "", "general.name (default: the model directory's name)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		return errors.New("--model and --out are required")
	}
	opt := gguf.Options{Name: *name}
	switch strings.ToLower(*typ) {
	case "f32":
		opt.Type = gguf.F32
	case "f16":
		opt.Type = gguf.F16
	case "q8_0":
		opt.Type = gguf.Q8_0
	case "q4_0":
		opt.Type = gguf.Q4_0
	default:
		return fmt.Errorf("--type %q: want f32, f16, q8_0 or q4_0", *typ)
	}
	var src string
	switch {
	case *tok != "":
		opt.TokenizerFS, opt.TokenizerDir, src = os.DirFS(*tok), ".", *tok
	case exists(filepath.Join(*model, "tokenizer.json")):
		src = *model
	default:
		opt.TokenizerFS, opt.TokenizerDir, src = assets.Tokenizer, assets.TokenizerBase, "embedded Qwen2.5 base"
		if *instruct {
			opt.TokenizerDir, src = assets.TokenizerInstruct, "embedded Qwen2.5 Instruct"
		}
	}
	if quant.IsQuantized(*model) {
		fmt.Fprintf(os.Stderr, "export: %s is quantized; its dequantized weights are re-encoded (export the unquantized model for the best fidelity)\n", *model)
	}
	sum, err := gguf.Export(*model, *out, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "export: %s: %s, %d tensors %v, %d tokens, %d merges (tokenizer: %s)\n",
		sum.Path, quant.HumanBytes(sum.Bytes), sum.Tensors, sum.Types, sum.Tokens, sum.Merges, src)
	b, _ := json.Marshal(sum)
	fmt.Println(string(b))
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
