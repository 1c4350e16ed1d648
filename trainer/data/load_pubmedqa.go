package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PubMedQASource is the source of every PubMedQA row.
const PubMedQASource = "PubMedQA"

// loadPubMedQA reads PubMedQA's ori_pqal.json: one object keyed by PubMed
// ID, each item holding at least QUESTION and LONG_ANSWER (strings) and,
// when context is asked for, CONTEXTS (strings) with LABELS naming each
// one's section. Items keep the file's order; errors give the JSON path.
func loadPubMedQA(path string, r io.Reader, opt LoadOptions) ([]Row, error) {
	src, err := readAll(path, r)
	if err != nil {
		return nil, err
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if bad := firstInvalidUTF8(string(src)); bad >= 0 {
		line, col := lineCol(src, int64(bad))
		return nil, fmt.Errorf("%s:%d:%d: invalid UTF-8 (byte 0x%02x)", path, line, col, src[bad])
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	fail := func(jsonPath string, err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(src, se.Offset)
			return fmt.Errorf("%s:%d:%d: %s: invalid JSON: %v", path, line, col, jsonPath, se)
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%s: %s: unexpected end of JSON", path, jsonPath)
		}
		line, col := lineCol(src, dec.InputOffset())
		return fmt.Errorf("%s:%d:%d: %s: %v", path, line, col, jsonPath, err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fail("$", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s: $: want an object keyed by PubMed ID, got %s", path, describeToken(tok))
	}
	name := InputName(path)
	lines := lineCounter{src: src, line: 1}
	seen := map[string]bool{}
	var rows []Row
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("$", err)
		}
		pmid := tok.(string) // object keys are always strings
		at := "$[" + strconv.Quote(pmid) + "]"
		line := lines.at(dec.InputOffset())
		if seen[pmid] {
			return nil, fmt.Errorf("%s:%d: %s: PubMed ID appears twice", path, line, at)
		}
		seen[pmid] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fail(at, err)
		}
		row, err := pubMedQARow(at, raw, opt)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		row.ID = name + "-" + pmid
		rows = append(rows, row)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fail("$", err)
	}
	if rest := bytes.TrimLeft(src[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		line, col := lineCol(src, int64(len(src)-len(rest)))
		return nil, fmt.Errorf("%s:%d:%d: $: data after the top-level object", path, line, col)
	}
	if scannedHook != nil {
		scannedHook(lines.scanned, len(src))
	}
	return rows, nil
}

// scannedHook, set by a test, learns how many bytes a load counted lines in.
var scannedHook func(scanned int64, size int)

func pubMedQARow(at string, raw json.RawMessage, opt LoadOptions) (Row, error) {
	var item map[string]json.RawMessage
	if err := json.Unmarshal(raw, &item); err != nil || item == nil {
		return Row{}, fmt.Errorf("%s: want an object, got %s", at, describeJSON(raw))
	}
	question, err := jsonString(item, at, "QUESTION")
	if err != nil {
		return Row{}, err
	}
	answer, err := jsonString(item, at, "LONG_ANSWER")
	if err != nil {
		return Row{}, err
	}
	qtype, _, _ := InferQType(question)
	row := Row{Question: question, Answer: answer, QType: qtype, Source: PubMedQASource}
	if !opt.PubMedQAContext {
		return row, nil
	}
	contexts, err := jsonStrings(item, at, "CONTEXTS")
	if err != nil {
		return Row{}, err
	}
	var labels []string
	if _, ok := item["LABELS"]; ok {
		if labels, err = jsonStrings(item, at, "LABELS"); err != nil {
			return Row{}, err
		}
		if len(labels) != len(contexts) {
			return Row{}, fmt.Errorf("%s.LABELS: has %d entries for %d CONTEXTS", at, len(labels), len(contexts))
		}
	}
	// Each paragraph keeps its section label ("BACKGROUND: …") because the
	// labels tell the model which sentences are methods and which results.
	parts := make([]string, len(contexts))
	for i, c := range contexts {
		if labels != nil && labels[i] != "" {
			c = labels[i] + ": " + c
		}
		parts[i] = c
	}
	row.Context = strings.Join(parts, "\n")
	return row, nil
}

func jsonString(item map[string]json.RawMessage, at, key string) (string, error) {
	raw, ok := item[key]
	if !ok {
		return "", fmt.Errorf("%s: missing field %s", at, key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || isNull(raw) {
		return "", fmt.Errorf("%s.%s: want a string, got %s", at, key, describeJSON(raw))
	}
	return s, nil
}

func jsonStrings(item map[string]json.RawMessage, at, key string) ([]string, error) {
	raw, ok := item[key]
	if !ok {
		return nil, fmt.Errorf("%s: missing field %s", at, key)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || isNull(raw) {
		return nil, fmt.Errorf("%s.%s: want an array of strings, got %s", at, key, describeJSON(raw))
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		if err := json.Unmarshal(e, &out[i]); err != nil || isNull(e) {
			return nil, fmt.Errorf("%s.%s[%d]: want a string, got %s", at, key, i, describeJSON(e))
		}
	}
	return out, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// describeJSON names the kind of a JSON value for error messages.
func describeJSON(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

// lineCounter gives the line of offsets that only grow, counting each byte once: asking
// lineCol for every item counted from the start of the file each time, which made loading
// quadratic in the file's size.
type lineCounter struct {
	src     []byte
	off     int64 // counted up to here
	line    int   // the line at off
	scanned int64 // bytes counted, for the test that holds this linear
}

func (c *lineCounter) at(off int64) int {
	off = min(off, int64(len(c.src)))
	if off > c.off {
		c.line += bytes.Count(c.src[c.off:off], []byte{'\n'})
		c.scanned += off - c.off
		c.off = off
	}
	return c.line
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(src []byte, off int64) (line, col int) {
	if off > int64(len(src)) {
		off = int64(len(src))
	}
	before := src[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
