package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"medqa/wasm/chat"
)

// Request asks for one reply to a conversation.
type Request struct {
	Messages []chat.Message
	Params   Params
}

// Params are the per-request settings; nil fields take the model's defaults.
type Params struct {
	Temperature       *float64 `json:"temperature,omitempty"`
	TopP              *float64 `json:"top_p,omitempty"`
	TopK              *int     `json:"top_k,omitempty"`
	RepetitionPenalty *float64 `json:"repetition_penalty,omitempty"`
	Seed              *uint64  `json:"seed,omitempty"`
	MaxTokens         int      `json:"max_tokens,omitempty"` // new tokens; 0: the engine's default
}

// Errors a caller maps to its protocol (HTTP status, error frame).
var (
	ErrQueueFull = errors.New("engine: queue full, try again later")
	ErrNoModel   = errors.New("engine: no model loaded")
	ErrClosed    = errors.New("engine: shutting down")
)

// InputError is a problem with the request itself (HTTP 400); Field names the culprit.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Msg) }

// resolve fills defaults from the model and checks ranges.
func (p Params) resolve(def Sampling) (Sampling, error) {
	s := def
	if p.Temperature != nil {
		if t := *p.Temperature; t < 0 || t > 2 || t != t {
			return s, &InputError{"temperature", "must be within [0, 2]"}
		}
		s.Temperature = *p.Temperature
	}
	if p.TopP != nil {
		if v := *p.TopP; !(v > 0 && v <= 1) {
			return s, &InputError{"top_p", "must be within (0, 1]"}
		}
		s.TopP = *p.TopP
	}
	if p.TopK != nil {
		if *p.TopK < 0 {
			return s, &InputError{"top_k", "must be >= 0"}
		}
		s.TopK = *p.TopK
	}
	if p.RepetitionPenalty != nil {
		if v := *p.RepetitionPenalty; !(v > 0 && v <= 10) {
			return s, &InputError{"repetition_penalty", "must be within (0, 10]"}
		}
		s.RepetitionPenalty = *p.RepetitionPenalty
	}
	if p.Seed != nil {
		s.Seed = *p.Seed
	} else {
		s.Seed = rand.Uint64() // else every unseeded request would sample the same reply
	}
	if p.MaxTokens < 0 {
		return s, &InputError{"max_tokens", "must be >= 0"}
	}
	return s, nil
}

// Finish reasons, as in the OpenAI API plus "cancelled".
const (
	FinishStop      = "stop"      // the model ended its reply
	FinishLength    = "length"    // max_tokens or the context ran out
	FinishCancelled = "cancelled" // the client stopped or went away
)

// Result is a finished request's usage and timing.
type Result struct {
	Model            string        `json:"model"`
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	FinishReason     string        `json:"finish_reason"`
	QueueWait        time.Duration `json:"-"` // from Generate to the start of prefill
	TTFT             time.Duration `json:"-"` // from Generate to the first token
	Total            time.Duration `json:"-"` // from Generate to the end
	decode           time.Duration // from the first token to the last
}

// TokensPerS is the decode rate: tokens after the first over the time they took, so that it
// measures generation speed and not queueing or prefill (TTFT reports those).
func (r Result) TokensPerS() float64 {
	if r.CompletionTokens < 2 || r.decode <= 0 {
		return 0
	}
	return float64(r.CompletionTokens-1) / r.decode.Seconds()
}
