package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"medqa/assets"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

func init() {
	register("tokenize", "encode text or render chats from JSON lines on stdin", runTokenize)
}

func runTokenize(args []string) error {
	fl := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	dir := fl.String("tokenizer", "", "tokenizer folder in Hugging Face layout (default: the embedded Qwen2.5 base tokenizer)")
	tmplName := fl.String("template", "", "chat template: base or instruct (default: the folder's tokenizer_config.json)")
	saveBinary := fl.String("save-binary", "", "instead of reading stdin, write the tokenizer's compact form (tokenizer.bin, gzipped if the name ends in .gz) to this file")
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), `usage: trainer tokenize [--tokenizer DIR] [--template base|instruct] < in.jsonl

Reads one JSON object per line and writes one per line:
  {"text": S}                                          -> {"ids": [...]}
  {"messages": [{"role","content"}...], "add_generation_prompt": B}
                                                       -> {"text": RENDERED, "ids": [...]}
A line that fails gives {"error": "line N: ..."} and the next line is read.

With --save-binary FILE it writes the compact form the browser loads instead.

`)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	tok, tmpl, tmplErr, err := loadTokenize(*dir, *tmplName)
	if err != nil {
		return err
	}
	if *saveBinary != "" {
		return saveTokenizerBinary(tok, *saveBinary)
	}
	return tokenizeLines(os.Stdin, os.Stdout, tok, tmpl, tmplErr)
}

// loadTokenize loads the tokenizer and the chat template. A folder without
// a usable chat template can still encode text, so that failure is kept
// for the lines that need a template rather than returned.
func loadTokenize(dir, name string) (tok *tokenizer.Tokenizer, tmpl *chat.Template, tmplErr, err error) {
	if dir == "" {
		tok, err = tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerBase)
	} else {
		tok, err = tokenizer.Load(dir)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	switch {
	case name != "":
		if tmpl, err = chat.Named(name); err != nil {
			return nil, nil, nil, err
		}
	case dir == "":
		tmpl = chat.Base
	default:
		tmpl, tmplErr = chat.Load(dir)
	}
	return tok, tmpl, tmplErr, nil
}

type tokenizeRequest struct {
	Text                *string        `json:"text"`
	Messages            []chat.Message `json:"messages"`
	AddGenerationPrompt bool           `json:"add_generation_prompt"`
}

// tokenizeReply is one output line. Text is a pointer so that a rendered
// chat always shows it, even empty, and a plain encoding never does.
type tokenizeReply struct {
	Text *string `json:"text,omitempty"`
	IDs  []int   `json:"ids"`
}

type tokenizeError struct {
	Error string `json:"error"`
}

func tokenizeLines(in io.Reader, out io.Writer, tok *tokenizer.Tokenizer, tmpl *chat.Template, tmplErr error) error {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // keep <|im_start|> readable
	for lineNo := 1; ; lineNo++ {
		line, readErr := r.ReadBytes('\n')
		if readErr != nil && readErr != io.EOF {
			return readErr
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var reply any
			if ok, err := tokenizeLine(line, tok, tmpl, tmplErr); err != nil {
				reply = tokenizeError{fmt.Sprintf("line %d: %v", lineNo, err)}
			} else {
				reply = ok
			}
			if err := enc.Encode(reply); err != nil {
				return err
			}
		}
		if readErr == io.EOF {
			return w.Flush()
		}
		if r.Buffered() == 0 { // answer an interactive caller before blocking
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}

func tokenizeLine(line []byte, tok *tokenizer.Tokenizer, tmpl *chat.Template, tmplErr error) (tokenizeReply, error) {
	var req tokenizeRequest
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return tokenizeReply{}, fmt.Errorf("bad JSON: %w", err)
	}
	if dec.More() {
		return tokenizeReply{}, errors.New("bad JSON: more than one value on the line")
	}
	switch {
	case req.Text != nil && req.Messages == nil:
		if req.AddGenerationPrompt {
			return tokenizeReply{}, errors.New("add_generation_prompt goes with messages, not text")
		}
		return tokenizeReply{IDs: tok.Encode(*req.Text)}, nil
	case req.Text == nil && req.Messages != nil:
		if tmplErr != nil {
			return tokenizeReply{}, tmplErr
		}
		text, err := tmpl.Render(req.Messages, req.AddGenerationPrompt)
		if err != nil {
			return tokenizeReply{}, err
		}
		return tokenizeReply{Text: &text, IDs: tok.Encode(text)}, nil
	}
	return tokenizeReply{}, errors.New(`want exactly one of "text" and "messages"`)
}

// saveTokenizerBinary writes tok's compact form to name through a temporary file,
// so a failure never leaves half a file.
func saveTokenizerBinary(tok *tokenizer.Tokenizer, name string) error {
	data, err := tok.MarshalBinary()
	if err != nil {
		return err
	}
	if strings.HasSuffix(name, ".gz") {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(data); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		data = buf.Bytes()
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tokenizer-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
