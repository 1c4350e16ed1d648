// Package engine owns the serving model: a bounded queue in front of one decode loop that
// advances every active request together (continuous batching), with per-request
// cancellation, limits, usage/timing and hot swap of the model between requests.
//
// The engine drives a model only through the small interfaces in this file, so the real
// Qwen2 model (trainer/qwen2) plugs in through an adapter and tests use a fake.
package engine

import "medqa/wasm/chat"

// Sampling chooses the next token from the model's distribution. Each sequence carries its
// own, so requests with different settings share a batched decode step.
type Sampling struct {
	Temperature       float64 `json:"temperature"`        // 0 picks the most likely token (greedy)
	TopP              float64 `json:"top_p"`              // nucleus mass; 0 or 1 disables
	TopK              int     `json:"top_k"`              // 0 disables
	RepetitionPenalty float64 `json:"repetition_penalty"` // 1 (or 0) disables
	Seed              uint64  `json:"seed"`               // per-request RNG seed (random unless the request sets one)
}

// Sequence is one request's state inside the model (its KV cache, last token, RNG). The model
// creates it and the engine hands it back; the engine never looks inside.
type Sequence interface {
	// Release frees the sequence's memory (KV cache). The engine calls it exactly once.
	Release()
}

// Model is what the engine needs from a language model. The engine calls it from one
// goroutine only, locked to its OS thread (libtorch keeps grad mode and thread pools per
// OS thread), so implementations need no locking.
type Model interface {
	// Prefill runs the prompt through the model in a new sequence and samples the first
	// generated token with s.
	Prefill(prompt []int, s Sampling) (seq Sequence, first int, err error)
	// Step feeds each sequence the token it sampled last, in one batched forward pass, and
	// returns the next sampled token of each, in the order given. Sequences may have
	// different lengths and sampling settings.
	Step(seqs []Sequence) (next []int, err error)
}

// Tokenizer turns text into token ids, and ids back into text as it becomes complete.
// Encode (and Bundle.Render) run on the requests' goroutines, concurrently, so they must be
// safe for concurrent use; each StreamDecoder is used by the engine's goroutine only.
type Tokenizer interface {
	Encode(text string) []int
	NewStreamDecoder() StreamDecoder
}

// StreamDecoder turns generated ids into text incrementally: Push returns the text that the
// ids so far complete (possibly ""; a multi-byte character may span tokens), Flush returns
// what is left at the end.
type StreamDecoder interface {
	Push(id int) string
	Flush() string
}

// Bundle is everything needed to serve one model; the engine swaps whole bundles.
type Bundle struct {
	Name      string    // model id shown to clients (e.g. /v1/models)
	Model     Model     //
	Tokenizer Tokenizer //
	// Render turns a conversation into the prompt text, ending with the assistant's turn
	// opened (the chat template with add_generation_prompt).
	Render   func(msgs []chat.Message) (string, error)
	Stop     []int    // token ids that end a reply; not part of the reply's text
	Context  int      // most tokens (prompt + reply) the model takes; 0: no limit
	Sampling Sampling // defaults for parameters a request leaves out (generation_config.json)
	// RAG: the model's default for retrieval-augmented prompts (generation_config.json's
	// medqa_rag); a request's "rag" overrides it.
	RAG bool
	// Close frees the model once the engine has stopped using it (after a swap, or at
	// shutdown); it may run on any goroutine. May be nil.
	Close func() error
	// Client is what a client that tokenizes for itself (the browser module's live token
	// count and prompt preview) needs to agree with the server; nil when there is none.
	Client *TokenizerFiles
}

// TokenizerFiles are a model's tokenizer as files: medqa's compact tokenizer.bin
// (tokenizer.Tokenizer.MarshalBinary) and the tokenizer_config.json with the special tokens
// and the chat template.
type TokenizerFiles struct {
	Binary     []byte
	BinaryGzip []byte // Binary gzipped (for clients that accept it); may be nil
	Config     []byte
}
