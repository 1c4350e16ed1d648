//go:build js && wasm && medqa_stub

package main

// A stand-in core for testing the browser glue (loading, CSP, the JS wrapper) without the real
// packages: one token per byte, hand-written ChatML, and a score that only echoes its inputs.
// Never shipped: `make wasm` builds without the medqa_stub tag.

import (
	"errors"
	"strings"

	"medqa/wasm/chat"
)

func newCore() (*core, error) {
	return &core{
		use: func([]byte, []byte) error { return errors.New("useTokenizer: the stand-in core has no tokenizer") },
		encode: func(text string) ([]int, error) {
			ids := make([]int, len(text))
			for i := range len(text) {
				ids[i] = int(text[i])
			}
			return ids, nil
		},
		decode: func(ids []int) (string, error) {
			b := make([]byte, len(ids))
			for i, id := range ids {
				b[i] = byte(id)
			}
			return string(b), nil
		},
		render: func(msgs []chat.Message, add bool) (string, error) {
			var b strings.Builder
			for _, m := range msgs {
				b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
			}
			if add {
				b.WriteString("<|im_start|>assistant\n")
			}
			return b.String(), nil
		},
		score: func(prediction string, references []string) (any, error) {
			return map[string]any{"stub": true, "prediction_bytes": len(prediction), "references": len(references)}, nil
		},
	}, nil
}
