package qwen2

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"medqa/files/testkit"
	"medqa/trainer/torch"
)

// runPeer runs the PyTorch peer with args and returns its stdout.
func runPeer(t *testing.T, peer []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(peer[0], append(peer[1:], args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("peer %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// TestPeerMatchesTransformers keeps the benchmarks' PyTorch-eager peer
// (peer/qwen2_peer.py) honest: its float64 logits for the tiny-qwen2
// checkpoint are transformers' own to 1e-6 (it lands within 2e-8; a wrong
// rotary, norm or bias moves them by 1e-3 or more), its decode mode prints
// what bench.sh reads, and its lora-step mode starts from the loss medqa's
// forward gives on the same ids (the adapters start at zero) and learns.
func TestPeerMatchesTransformers(t *testing.T) {
	peer := testkit.Peer(t)
	dir, ref := testkit.TinyQwen2(t), testkit.TinyQwen2Logits(t)
	worst := 0.0
	for i, sq := range ref.Sequences {
		var ids []string
		for _, id := range sq {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		var got struct{ Logits [][]float64 }
		if err := json.Unmarshal(runPeer(t, peer, "logits", "--model", dir, "--ids", strings.Join(ids, ","), "--threads", "1"), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Logits) != len(ref.Logits[i]) {
			t.Fatalf("sequence %d: %d rows, want %d", i, len(got.Logits), len(ref.Logits[i]))
		}
		for p, row := range ref.Logits[i] {
			if len(got.Logits[p]) != len(row) {
				t.Fatalf("sequence %d position %d: %d logits, want %d", i, p, len(got.Logits[p]), len(row))
			}
			for v, want := range row {
				d := math.Abs(got.Logits[p][v] - want)
				if !(d <= 1e-6) {
					t.Fatalf("sequence %d logit [%d][%d] = %v, transformers %v", i, p, v, got.Logits[p][v], want)
				}
				worst = max(worst, d)
			}
		}
	}
	t.Logf("peer vs transformers: max |Δ| %.2g", worst)

	var dec map[string]any
	if err := json.Unmarshal(runPeer(t, peer, "decode", "--model", dir, "--prompt", "8", "--new", "4", "--threads", "1"), &dec); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"prefill_tokens_per_s", "decode_tokens_per_s"} {
		if v, ok := dec[k].(float64); !ok || !(v > 0) {
			t.Errorf("decode: %s = %v", k, dec[k])
		}
	}
	if dec["peer"] != "pytorch-eager" || dec["mode"] != "decode" || dec["threads"] != 1.0 {
		t.Errorf("decode: %v", dec)
	}

	const T = 16
	var losses []float64
	sc := bufio.NewScanner(bytes.NewReader(runPeer(t, peer, "lora-step", "--model", dir, "--seq", strconv.Itoa(T), "--rank", "2", "--steps", "3", "--threads", "1")))
	for sc.Scan() {
		var rec struct {
			Mode          string
			Step          int
			Loss, Seconds float64
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("lora-step line %q: %v", sc.Text(), err)
		}
		if rec.Mode != "lora-step" || rec.Step != len(losses) || !(rec.Seconds > 0) {
			t.Fatalf("lora-step line %q", sc.Text())
		}
		losses = append(losses, rec.Loss)
	}
	if len(losses) != 3 || !(losses[2] < losses[0]) {
		t.Fatalf("lora-step losses %v: want three, falling", losses)
	}
	m, err := Load(dir, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := torch.NewScope()
	defer s.Close()
	x := seq(T, 7919, 13, m.Config.VocabSize) // the peer's pattern
	if want := meanNextTokenLoss(torch.ToSlice[float32](m.Forward(s, ids(s, m, x), nil)), x, m.Config.VocabSize); math.Abs(losses[0]-want) > 1e-5 {
		t.Errorf("peer's first lora-step loss %v, medqa's forward gives %v", losses[0], want)
	}
}

// meanNextTokenLoss is the cross-entropy of predicting x[i+1] from the
// logits at i, averaged over the sequence, in float64.
func meanNextTokenLoss(logits []float32, x []int64, V int) float64 {
	sum := 0.0
	for i := 0; i+1 < len(x); i++ {
		row := logits[i*V : (i+1)*V]
		hi := math.Inf(-1)
		for _, v := range row {
			hi = max(hi, float64(v))
		}
		z := 0.0
		for _, v := range row {
			z += math.Exp(float64(v) - hi)
		}
		sum += hi + math.Log(z) - float64(row[x[i+1]])
	}
	return sum / float64(len(x)-1)
}
