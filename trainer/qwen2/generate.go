package qwen2

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"

	"medqa/trainer/torch"
)

// GenerateOptions control Generate.
type GenerateOptions struct {
	Sampling
	MaxNewTokens int     // required, > 0
	StopIDs      []int64 // generation of a sequence ends at any of these (not included in its Tokens)
	// OnToken, if set, receives each generated token as soon as it is chosen
	// (seq indexes the prompts); a non-nil error aborts Generate with it.
	OnToken func(seq int, id int64) error
}

// StopReason says why a sequence ended.
type StopReason string

const (
	StopToken     StopReason = "stop"      // a StopIDs token was generated
	StopLength    StopReason = "length"    // MaxNewTokens reached
	StopCancelled StopReason = "cancelled" // the context ended first
)

// Result is one sequence's generation.
type Result struct {
	Tokens []int64 // generated tokens, without the stop token
	Reason StopReason
	StopID int64 // the stop token, when Reason is StopToken
}

// Generate continues prompt; see GenerateBatch.
func (m *Model) Generate(ctx context.Context, prompt []int64, opt GenerateOptions) (Result, error) {
	rs, err := m.GenerateBatch(ctx, [][]int64{prompt}, opt)
	if len(rs) == 0 {
		return Result{}, err
	}
	return rs[0], err
}

// GenerateBatch continues every prompt: each is prefilled on its own cache, then
// all unfinished sequences decode together, one batched step per token. Sequence
// i samples from stream i of opt.Seed, so its tokens do not depend on the batch.
// When ctx ends, it returns the tokens so far (Reason StopCancelled) and ctx's error.
func (m *Model) GenerateBatch(ctx context.Context, prompts [][]int64, opt GenerateOptions) (res []Result, err error) {
	if opt.MaxNewTokens <= 0 {
		return nil, errors.New("generate: MaxNewTokens must be positive")
	}
	for i, p := range prompts {
		if len(p) == 0 {
			return nil, fmt.Errorf("generate: prompt %d is empty", i)
		}
		if err := m.CheckIDs(p); err != nil {
			return nil, fmt.Errorf("generate: prompt %d: %w", i, err)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev := torch.SetGradEnabled(false)
	defer torch.SetGradEnabled(prev)
	defer torch.Recover(&err)

	n := len(prompts)
	res = make([]Result, n)
	caches := make([]*Cache, n)
	samplers := make([]*Sampler, n)
	history := make([][]int64, n)
	logits := make([][]float32, n)
	for i := range prompts {
		caches[i] = m.NewCache()
		defer caches[i].Close()
		samplers[i] = NewSampler(opt.Sampling, uint64(i))
		history[i] = slices.Clone(prompts[i])
	}
	for i, p := range prompts {
		if err := ctx.Err(); err != nil {
			return cancelled(res), err
		}
		logits[i] = m.lastLogits([]*Cache{caches[i]}, [][]int64{p})[0]
	}
	active := make([]int, n)
	for i := range active {
		active[i] = i
	}
	for len(active) > 0 {
		next := active[:0:0]
		var step [][]int64
		var stepCaches []*Cache
		for _, i := range active {
			id := samplers[i].Next(logits[i], history[i])
			if slices.Contains(opt.StopIDs, id) {
				res[i].Reason, res[i].StopID = StopToken, id
				continue
			}
			res[i].Tokens = append(res[i].Tokens, id)
			history[i] = append(history[i], id)
			if opt.OnToken != nil {
				if err := opt.OnToken(i, id); err != nil {
					return res, err
				}
			}
			if len(res[i].Tokens) >= opt.MaxNewTokens {
				res[i].Reason = StopLength
				continue
			}
			next = append(next, i)
			step = append(step, []int64{id})
			stepCaches = append(stepCaches, caches[i])
		}
		active = next
		if len(active) == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return cancelled(res), err
		}
		rows := m.lastLogits(stepCaches, step)
		for j, i := range active {
			logits[i] = rows[j]
		}
	}
	return res, nil
}

func cancelled(res []Result) []Result {
	for i := range res {
		if res[i].Reason == "" {
			res[i].Reason = StopCancelled
		}
	}
	return res
}

// Step extends each cache with its row of ids (all rows of equal length: a
// prompt for one cache, or one token per cache for a batched decode step) and
// returns each row's last-token logits [V]. It is the building block of a
// serving engine's continuous batching: prefill new requests one at a time,
// then Step all active caches together. Autograd is off for the call. A
// serving loop should keep one goroutine, locked to its OS thread, for all
// calls: libtorch's thread pools then stay warm.
func (m *Model) Step(caches []*Cache, ids [][]int64) (logits [][]float32, err error) {
	if len(ids) == 0 || len(ids) != len(caches) {
		return nil, fmt.Errorf("step: %d id rows for %d caches", len(ids), len(caches))
	}
	for i, r := range ids {
		if len(r) == 0 || len(r) != len(ids[0]) {
			return nil, fmt.Errorf("step: row %d has %d ids, row 0 has %d (want equal, non-zero)", i, len(r), len(ids[0]))
		}
		if err := m.CheckIDs(r); err != nil {
			return nil, fmt.Errorf("step: row %d: %w", i, err)
		}
	}
	runtime.LockOSThread() // grad mode is per OS thread
	defer runtime.UnlockOSThread()
	prev := torch.SetGradEnabled(false)
	defer torch.SetGradEnabled(prev)
	defer torch.Recover(&err)
	return m.lastLogits(caches, ids), nil
}

// lastLogits is Step without the checks; it panics with *torch.Error.
func (m *Model) lastLogits(caches []*Cache, ids [][]int64) [][]float32 {
	s := torch.NewScope()
	defer s.Close()
	B, T := int64(len(ids)), int64(len(ids[0]))
	flat := make([]int64, 0, B*T)
	for _, r := range ids {
		flat = append(flat, r...)
	}
	x := torch.FromSlice(s, flat, B, T).To(s, torch.Int64, m.Device)
	h := m.Extend(s, caches, x).Narrow(s, 1, T-1, 1) // [B,1,H]
	all := torch.ToSlice[float32](m.Logits(s, h))
	V := m.Config.VocabSize
	out := make([][]float32, B)
	for b := range out {
		out[b] = all[b*V : (b+1)*V : (b+1)*V]
	}
	return out
}

// CheckIDs reports the first token id outside the vocabulary.
func (m *Model) CheckIDs(ids []int64) error {
	for i, id := range ids {
		if id < 0 || id >= int64(m.Config.VocabSize) {
			return fmt.Errorf("token id %d at position %d is outside the vocabulary [0,%d)", id, i, m.Config.VocabSize)
		}
	}
	return nil
}
