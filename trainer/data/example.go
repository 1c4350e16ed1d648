package data

import (
	"errors"
	"fmt"

	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// EncodeOptions controls how a conversation becomes a training example.
type EncodeOptions struct {
	// MaxLength caps the example's tokens (0 means 512; at least 64).
	MaxLength int
	// AllTokens learns every token, prompt included, as the seed did;
	// otherwise only the answer and the <|im_end|> that closes it are
	// learned (completion-only loss).
	AllTokens bool
}

// Example is one tokenized training sequence, unpadded. Labels are aligned
// with InputIDs (the model shifts them) and -100 where not learned, the
// ignore index of PyTorch's cross entropy.
type Example struct {
	InputIDs      []int32 `json:"input_ids"`
	AttentionMask []int32 `json:"attention_mask"`
	Labels        []int32 `json:"labels"`
}

// EncodeExample renders msgs with tmpl and tokenizes them for supervised
// fine-tuning. The last message is the answer and must be the assistant's.
//
// The sequence is the prompt exactly as it is tokenized at inference (the
// conversation before the answer, with the generation prompt), then the
// answer's tokens, <|im_end|> and the "\n" the template writes after it.
// Tokenizing the prompt on its own matters only when an answer starts with
// white space, which would otherwise merge with the prompt's last "\n"
// into a token the model never sees at inference.
//
// Labels: the answer and <|im_end|> are learned, so the model learns to
// stop; the trailing "\n" is not (generation stops at <|im_end|>, so
// nothing after it is ever predicted), nor is the prompt. With AllTokens
// every label equals its input id.
//
// Truncation keeps the answer's start: the answer gets the room the prompt
// leaves, but at least half of MaxLength (or all of it, if shorter); when
// the prompt must shrink, tokens are cut from the end of the last message
// before the answer (the question), keeping the system prompt, the
// question's start and the closing "<|im_end|>\n<|im_start|>assistant\n".
// A cut answer loses its <|im_end|>, so the model is never taught to stop
// mid-answer. truncated reports whether anything was cut.
func EncodeExample(tok *tokenizer.Tokenizer, tmpl *chat.Template, msgs []chat.Message, opts EncodeOptions) (ex Example, truncated bool, err error) {
	// Local names: the rest of package data is written elsewhere.
	const (
		ignoreIndex      = -100
		defaultMaxLength = 512
		// minMaxLength leaves room for the system prompt, the generation
		// prompt and some of the question and answer.
		minMaxLength = 64
	)
	maxLen := opts.MaxLength
	if maxLen == 0 {
		maxLen = defaultMaxLength
	}
	if maxLen < minMaxLength {
		return Example{}, false, fmt.Errorf("data: max length %d is below %d", maxLen, minMaxLength)
	}
	n := len(msgs)
	if n < 2 || msgs[n-1].Role != "assistant" {
		return Example{}, false, errors.New("data: want a conversation that ends with the assistant's answer after at least one other message")
	}
	imEnd := int32(tok.Special().ImEnd)
	if imEnd < 0 {
		return Example{}, false, errors.New("data: the tokenizer has no <|im_end|> token")
	}
	prompt, err := tmpl.Render(msgs[:n-1], true)
	if err != nil {
		return Example{}, false, err
	}
	p := tok.AppendEncode32(nil, prompt)
	a := tok.AppendEncode32(nil, msgs[n-1].Content)
	learned := len(a) + 1 // the answer and <|im_end|>
	a = append(a, imEnd)
	a = tok.AppendEncode32(a, "\n")

	if len(p)+len(a) > maxLen {
		truncated = true
		keepA := min(len(a), max(maxLen-len(p), maxLen/2))
		if keepP := maxLen - keepA; keepP < len(p) {
			tail := len(tok.AppendEncode32(nil, chat.ImEnd+"\n"+chat.ImStart+"assistant\n"))
			p = append(p[:keepP-tail:keepP-tail], p[len(p)-tail:]...)
		}
		a = a[:keepA]
		learned = min(learned, keepA)
	}

	ex.InputIDs = append(p, a...)
	ex.AttentionMask = make([]int32, len(ex.InputIDs))
	ex.Labels = make([]int32, len(ex.InputIDs))
	for i, id := range ex.InputIDs {
		ex.AttentionMask[i] = 1
		ex.Labels[i] = ignoreIndex
		if opts.AllTokens || (i >= len(p) && i < len(p)+learned) {
			ex.Labels[i] = id
		}
	}
	return ex, truncated, nil
}
