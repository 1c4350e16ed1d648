package gpucheck

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

var (
	servingRE = regexp.MustCompile(`medqa is serving .* at (http://\S+)`)
	deviceRE  = regexp.MustCompile(`msg="model loaded".* dtype=(\S+) device=(\S+)`)
)

// server starts the bundle's backend binary on the device (MEDQA_DEVICE, MEDQA_DTYPE) serving its
// embedded default model, asks one question over the chat websocket, and checks that the answer
// streams as token frames and ends with a done frame, and that the model was loaded on the device.
func server(ctx context.Context, o Options) (*Obj, error) {
	dir, err := o.dir("server")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	os.RemoveAll(data)
	pw := make([]byte, 12)
	rand.Read(pw)
	cmd := exec.Command(filepath.Join(o.Bundle, "bin", "backend"), "--addr", "127.0.0.1:0", "--data", data, "--grace", "5s")
	cmd.Env = append(os.Environ(), "MEDQA_DEVICE="+o.Device.String(), "MEDQA_DTYPE="+o.DType().String(),
		"MEDQA_ADMIN_PASSWORD="+hex.EncodeToString(pw))
	logPath := filepath.Join(dir, "backend.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	urls := make(chan string, 1)
	res := &Obj{}
	var loadedOn, loadedAs string
	go func() { // copies the log, and picks out the address and where the model was loaded
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if m := deviceRE.FindStringSubmatch(line); m != nil {
				loadedAs, loadedOn = m[1], m[2]
			}
			if m := servingRE.FindStringSubmatch(line); m != nil {
				urls <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	}()
	t0 := time.Now()
	var url string
	select {
	case url = <-urls:
	case err := <-exited:
		return res, fmt.Errorf("backend exited before serving (%v); see %s", err, logPath)
	case <-ctx.Done():
		return res, fmt.Errorf("backend did not serve: %v; see %s", ctx.Err(), logPath)
	}
	res.Set("startup_s", round(time.Since(t0).Seconds(), 2)).Set("model_device", loadedOn).Set("model_dtype", loadedAs)

	conn, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws/chat", nil)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	greedy := 0.0
	ask := map[string]any{"type": "ask", "messages": []map[string]string{{"role": "user", "content": "What is glaucoma?"}},
		"params": map[string]any{"max_tokens": 24, "temperature": greedy}}
	if err := conn.WriteJSON(ask); err != nil {
		return res, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	var text strings.Builder
	frames := 0
	for {
		var f struct {
			Type, Text, Code, Message string
			FinishReason              string `json:"finish_reason"`
			Usage                     struct {
				CompletionTokens int `json:"completion_tokens"`
			}
			Timing struct {
				TTFTMs     float64 `json:"ttft_ms"`
				TokensPerS float64 `json:"tokens_per_s"`
			}
		}
		_, raw, err := conn.ReadMessage()
		if err != nil {
			return res, fmt.Errorf("after %d token frames: %v", frames, err)
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			return res, fmt.Errorf("frame %q: %v", raw, err)
		}
		switch f.Type {
		case "token":
			frames++
			text.WriteString(f.Text)
			continue
		case "error":
			return res, fmt.Errorf("error frame: %s: %s", f.Code, f.Message)
		case "done":
			ok := frames > 0 && f.Usage.CompletionTokens > 0 && loadedOn == o.Device.String()
			res.Set("token_frames", frames).Set("completion_tokens", f.Usage.CompletionTokens).
				Set("finish_reason", f.FinishReason).Set("ttft_ms", round(f.Timing.TTFTMs, 1)).
				Set("tokens_per_s", round(f.Timing.TokensPerS, 1)).Set("answer", text.String())
			if loadedOn != o.Device.String() {
				res.Set("reason", fmt.Sprintf("the model was loaded on %q, not %s (see %s)", loadedOn, o.Device, logPath))
			}
			return res.First("ok", ok), nil
		default:
			return res, fmt.Errorf("unexpected frame %q", raw)
		}
	}
}
