//go:build js && wasm

// Command medqa-wasm is the browser module: it exposes the tokenizer, the chat template and the
// metrics — the same Go packages the server runs — to the pages as globalThis.medqa:
//
//	tokenize(text) → JSON array of ids
//	countTokens(text) → number
//	renderChat(messagesJSON, addGenerationPrompt) → prompt text
//	decode(idsJSON) → text
//	score(prediction, referencesJSON) → JSON object (the fields of `trainer score`)
//	useTokenizer(tokenizerBin Uint8Array, tokenizerConfigJSON) → true: count and render with
//	    this tokenizer (the served model's) instead of the Qwen2.5 one the module carries
//
// Structured values cross as JSON strings (assets/web/js/wasm.js wraps them): one encode on each
// side is cheaper and simpler than walking JS objects through syscall/js. Failures come back as
// JavaScript Error values, never as a Go panic that would kill the module.
//
// Build: GOOS=js GOARCH=wasm go build -trimpath -ldflags=-s -o assets/wasm/medqa.wasm ./wasm/cmd/medqa-wasm
package main

import (
	"encoding/json"
	"fmt"
	"syscall/js"

	"medqa/wasm/chat"
)

func main() {
	c, err := newCore()
	if err != nil {
		js.Global().Get("console").Call("error", "medqa wasm: "+err.Error())
		return
	}
	api := js.Global().Get("Object").New()
	api.Set("tokenize", fn(func(a []js.Value) (any, error) {
		ids, err := c.encode(arg(a, 0))
		if err != nil {
			return nil, err
		}
		return jsonString(ids)
	}))
	api.Set("countTokens", fn(func(a []js.Value) (any, error) {
		ids, err := c.encode(arg(a, 0))
		return len(ids), err
	}))
	api.Set("renderChat", fn(func(a []js.Value) (any, error) {
		var msgs []chat.Message
		if err := json.Unmarshal([]byte(arg(a, 0)), &msgs); err != nil {
			return nil, fmt.Errorf("renderChat: messages: %w", err)
		}
		add := len(a) > 1 && a[1].Truthy()
		return c.render(msgs, add)
	}))
	api.Set("decode", fn(func(a []js.Value) (any, error) {
		var ids []int
		if err := json.Unmarshal([]byte(arg(a, 0)), &ids); err != nil {
			return nil, fmt.Errorf("decode: ids: %w", err)
		}
		return c.decode(ids)
	}))
	api.Set("useTokenizer", fn(func(a []js.Value) (any, error) {
		if len(a) < 2 || a[0].Type() != js.TypeObject {
			return nil, fmt.Errorf("useTokenizer: want (Uint8Array, string)")
		}
		bin := make([]byte, a[0].Get("length").Int())
		js.CopyBytesToGo(bin, a[0])
		if err := c.use(bin, []byte(arg(a, 1))); err != nil {
			return nil, err
		}
		return true, nil
	}))
	api.Set("score", fn(func(a []js.Value) (any, error) {
		var refs []string
		if err := json.Unmarshal([]byte(arg(a, 1)), &refs); err != nil {
			return nil, fmt.Errorf("score: references: %w", err)
		}
		out, err := c.score(arg(a, 0), refs)
		if err != nil {
			return nil, err
		}
		return jsonString(out)
	}))
	js.Global().Set("medqa", api)
	if ready := js.Global().Get("medqaReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // keep the exported functions alive
}

// core is what the module exposes; bind.go fills it from the medqa/wasm packages.
type core struct {
	use    func(tokenizerBin, tokenizerConfig []byte) error
	encode func(text string) ([]int, error)
	decode func(ids []int) (string, error)
	render func(msgs []chat.Message, addGenerationPrompt bool) (string, error)
	score  func(prediction string, references []string) (any, error)
}

// fn adapts a Go function to JavaScript: an error or a panic becomes a returned Error value.
func fn(f func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) (ret any) {
		defer func() {
			if r := recover(); r != nil {
				ret = jsError(fmt.Errorf("medqa wasm: %v", r))
			}
		}()
		v, err := f(args)
		if err != nil {
			return jsError(err)
		}
		return v
	})
}

func jsError(err error) js.Value { return js.Global().Get("Error").New(err.Error()) }

func arg(a []js.Value, i int) string {
	if i >= len(a) || a[i].Type() != js.TypeString {
		return ""
	}
	return a[i].String()
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
