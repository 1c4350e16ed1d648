package gpucheck

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"medqa/trainer/atomicfile"
)

// probe is what the reference side has: the python's torch, and transformers and PEFT if installed.
type probe struct {
	Torch        string  `json:"torch"`
	CUDA         bool    `json:"cuda"`
	Transformers *string `json:"transformers"`
	PEFT         *string `json:"peft"`
	DeviceName   string  `json:"device_name"`
}

// probe asks ref.py once per run (the answer is kept in Work/probe.json: importing transformers
// takes seconds).
func (o Options) probe(ctx context.Context) (probe, error) {
	var p probe
	if o.Python == "" {
		return p, errors.New("no python with torch")
	}
	path := filepath.Join(o.Work, "probe.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		if raw, err = o.python(ctx, "ref.py", "probe"); err != nil {
			return p, err
		}
		if err := atomicfile.WriteFile(path, raw, 0o644); err != nil {
			return p, err
		}
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("%s: %v", path, err)
	}
	return p, nil
}

// python runs ref/<script> with args and returns its last stdout line (its JSON answer). A failure
// carries the tail of stderr, where python puts its traceback.
func (o Options) python(ctx context.Context, script string, args ...string) ([]byte, error) {
	if o.Python == "" {
		return nil, errors.New("no python with torch")
	}
	path := filepath.Join(o.Bundle, "ref", script)
	cmd := exec.CommandContext(ctx, o.Python, append([]string{path}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", script, args[0], err, tail(stderr.String(), 600))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return []byte(lines[len(lines)-1]), nil
}

// refLogits runs a ref.py mode that writes logits files out.<part> for each of parts, all of one shape,
// and reads them back in that order.
func (o Options) refLogits(ctx context.Context, out, mode string, parts []string, args ...string) ([][]float32, error) {
	args = append([]string{mode, "--out", out}, args...)
	var files []string
	for _, p := range parts {
		files = append(files, out+"."+p)
	}
	raw, err := o.python(ctx, "ref.py", args...)
	if err != nil {
		return nil, err
	}
	var meta struct{ Shape []int }
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("ref.py %s: %v in %q", mode, err, raw)
	}
	n := 1
	for _, s := range meta.Shape {
		n *= s
	}
	var res [][]float32
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if len(b) != 4*n {
			return nil, fmt.Errorf("%s: %d bytes, shape %v wants %d", f, len(b), meta.Shape, 4*n)
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		res = append(res, x)
	}
	return res, nil
}

// peerLogits are the project's PyTorch-eager peer's float64 logits for each row (on the CPU).
func (o Options) peerLogits(ctx context.Context, model string, rows [][]int64) ([]float32, error) {
	var out []float32
	for _, r := range rows {
		raw, err := o.python(ctx, "qwen2_peer.py", "logits", "--model", model, "--ids", idList(r))
		if err != nil {
			return nil, err
		}
		var ans struct{ Logits [][]float64 }
		if err := json.Unmarshal(raw, &ans); err != nil {
			return nil, fmt.Errorf("qwen2_peer.py logits: %v", err)
		}
		for _, row := range ans.Logits {
			for _, v := range row {
				out = append(out, float32(v))
			}
		}
	}
	return out, nil
}

func idList(r []int64) string {
	s := make([]string, len(r))
	for i, v := range r {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ",")
}

// idRows is ref.py's --ids: rows separated by ';'.
func idRows(rows [][]int64) string {
	s := make([]string, len(rows))
	for i, r := range rows {
		s[i] = idList(r)
	}
	return strings.Join(s, ";")
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
