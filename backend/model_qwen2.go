package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"medqa/assets"
	"medqa/backend/engine"
	"medqa/trainer/lora"
	"medqa/trainer/modeldir"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// runDType and runDevice come from MEDQA_DTYPE (f32) and MEDQA_DEVICE (cpu, cuda, cuda:N,
// auto), read as the trainer reads its --dtype and --device.
func runDType() (torch.DType, torch.Device, error) {
	dts, devs := os.Getenv("MEDQA_DTYPE"), os.Getenv("MEDQA_DEVICE")
	if dts == "" {
		dts = "f32"
	}
	if devs == "" {
		devs = "cpu"
	}
	dt, dev, err := torch.ParseRuntime(dts, devs)
	if re, ok := err.(*torch.RuntimeError); ok {
		return dt, dev, fmt.Errorf("MEDQA_%s: %w", strings.ToUpper(re.Setting), re.Err)
	}
	return dt, dev, err
}

// loadQwen2 serves a Qwen2 model directory (plus an optional PEFT adapter) with its own
// tokenizer and chat template, or the embedded Qwen2.5 ones when it has none.
func loadQwen2(_ context.Context, name, dir, adapter string) (b engine.Bundle, err error) {
	t0 := time.Now()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return b, fmt.Errorf("model directory %s: not found", dir)
	}
	dt, dev, err := runDType()
	if err != nil {
		return b, err
	}
	// The one tokenizer lookup the trainer's verbs use too, so that eval and serving agree.
	tok, tmpl, tokSrc, err := modeldir.Tokenizer(dir)
	if err != nil {
		return b, err
	}
	client, err := clientFiles(tok, dir)
	if err != nil {
		return b, err
	}
	// A Hugging Face directory or a medqa int8/int4 one (dequantized to dt once, here).
	m, err := modeldir.Load(dir, dt, dev)
	if err != nil {
		return b, err
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if adapter != "" { // a PEFT adapter on top, frozen
		if _, err := lora.Load(adapter, m, dt); err != nil {
			return b, err
		}
	}
	if tok.VocabSize() > m.Config.VocabSize {
		return b, fmt.Errorf("%s: the tokenizer (%s) has %d tokens, the model's embedding only %d rows", dir, tokSrc, tok.VocabSize(), m.Config.VocabSize)
	}
	gc, err := qwen2.LoadGenerationConfig(dir, m.Config)
	if err != nil {
		return b, err
	}
	opt := gc.Options()
	var stop []int
	for _, id := range modeldir.StopIDs(tok, gc, m.Config.VocabSize) {
		stop = append(stop, int(id))
	}
	b = engine.Bundle{
		Name:      name,
		Model:     &qwenModel{m: m},
		Tokenizer: qwenTokenizer{tok},
		Render:    func(msgs []chat.Message) (string, error) { return tmpl.Render(msgs, true) },
		Stop:      stop,
		Context:   m.Config.MaxPositionEmbeddings,
		Sampling: engine.Sampling{Temperature: opt.Temperature, TopP: opt.TopP, TopK: opt.TopK,
			RepetitionPenalty: opt.RepetitionPenalty},
		RAG:    gc.RAG,
		Close:  func() error { m.Close(); return nil },
		Client: client,
	}
	slog.Info("model loaded", "model", name, "dir", dir, "adapter", adapter, "tokenizer", tokSrc,
		"layers", m.Config.NumHiddenLayers, "hidden", m.Config.HiddenSize, "vocab", m.Config.VocabSize,
		"dtype", dt, "device", dev, "stop", b.Stop, "load_ms", time.Since(t0).Milliseconds())
	return b, nil
}

// clientFiles are the tokenizer as the browser module loads it: the compact binary form and
// the tokenizer_config.json with the chat template (the model directory's, else the embedded
// base one, which is also the template modeldir falls back to).
func clientFiles(tok *tokenizer.Tokenizer, dir string) (*engine.TokenizerFiles, error) {
	bin, err := tok.MarshalBinary()
	if err != nil {
		return nil, err
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		cfg, err = fs.ReadFile(assets.Tokenizer, path.Join(assets.TokenizerBase, "tokenizer_config.json"))
	}
	if err != nil {
		return nil, err
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(bin)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &engine.TokenizerFiles{Binary: bin, BinaryGzip: z.Bytes(), Config: cfg}, nil
}

// qwenModel adapts qwen2's per-sequence caches and batched Step to the engine: the engine
// prefills each request alone, then advances all of them with one Step per token.
type qwenModel struct{ m *qwen2.Model }

type qwenSeq struct {
	cache   *qwen2.Cache
	sampler *qwen2.Sampler
	history []int64 // prompt and generated tokens (for the repetition penalty)
}

func (s *qwenSeq) Release() { s.cache.Close() }

func (q *qwenModel) Prefill(prompt []int, sp engine.Sampling) (engine.Sequence, int, error) {
	ids := make([]int64, len(prompt))
	for i, id := range prompt {
		ids[i] = int64(id)
	}
	s := &qwenSeq{cache: q.m.NewCache(), history: ids}
	// Stream 0 of the request's seed: what qwen2.Generate draws for a single prompt.
	s.sampler = qwen2.NewSampler(qwen2.Sampling{Temperature: sp.Temperature, TopK: sp.TopK, TopP: sp.TopP,
		RepetitionPenalty: sp.RepetitionPenalty, Seed: sp.Seed}, 0)
	logits, err := q.m.Step([]*qwen2.Cache{s.cache}, [][]int64{ids})
	if err != nil {
		s.Release()
		return nil, 0, err
	}
	return s, s.next(logits[0]), nil
}

func (q *qwenModel) Step(seqs []engine.Sequence) ([]int, error) {
	caches := make([]*qwen2.Cache, len(seqs))
	rows := make([][]int64, len(seqs))
	for i, x := range seqs {
		s := x.(*qwenSeq)
		caches[i], rows[i] = s.cache, s.history[len(s.history)-1:]
	}
	logits, err := q.m.Step(caches, rows)
	if err != nil {
		return nil, err
	}
	next := make([]int, len(seqs))
	for i, x := range seqs {
		next[i] = x.(*qwenSeq).next(logits[i])
	}
	return next, nil
}

func (s *qwenSeq) next(logits []float32) int {
	id := s.sampler.Next(logits, s.history)
	s.history = append(s.history, id)
	return int(id)
}

// qwenTokenizer gives the engine the tokenizer behind its interfaces.
type qwenTokenizer struct{ t *tokenizer.Tokenizer }

func (q qwenTokenizer) Encode(text string) []int { return q.t.Encode(text) }

func (q qwenTokenizer) NewStreamDecoder() engine.StreamDecoder { return q.t.NewStreamDecoder() }
