package engine_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"medqa/backend/engine"
	"medqa/backend/engine/fakemodel"
	"medqa/files/testkit"
	"medqa/wasm/chat"
)

var ask = engine.Request{Messages: []chat.Message{{Role: "user", Content: "What is anemia?"}}}

func newEngine(t *testing.T, cfg engine.Config, reply string, delay time.Duration) (*engine.Engine, *fakemodel.Model) {
	m, b := fakemodel.New("fake", reply, delay)
	e := engine.New(cfg, &b)
	t.Cleanup(func() { e.Shutdown(context.Background()) })
	return e, m
}

func TestReplyTextUsageAndIncrementalUTF8(t *testing.T) {
	const reply = "Anemia → low hæmoglobin. 🩸"
	e, m := newEngine(t, engine.Config{}, reply, 0)
	st, err := e.Generate(context.Background(), ask)
	if err != nil {
		t.Fatal(err)
	}
	var pieces []string
	for {
		p, err := st.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(p) {
			t.Fatalf("piece %q is not valid UTF-8: the stream decoder must hold back partial characters", p)
		}
		pieces = append(pieces, p)
	}
	if got := strings.Join(pieces, ""); got != reply {
		t.Fatalf("reply %q, want %q", got, reply)
	}
	res := st.Result()
	prompt, _ := fakemodel.Render(ask.Messages)
	if res.PromptTokens != len(prompt) || res.CompletionTokens != len(reply) || res.FinishReason != engine.FinishStop || res.Model != "fake" {
		t.Fatalf("result %+v: want %d prompt tokens, %d completion tokens, stop, fake", res, len(prompt), len(reply))
	}
	if res.TTFT <= 0 || res.Total < res.TTFT {
		t.Fatalf("timing %+v", res)
	}
	testkit.Eventually(t, 5*time.Second, "sequence release", func() bool { live, _, _, _ := m.Stats(); return live == 0 })
}

func TestMaxTokensEndsWithLength(t *testing.T) {
	e, _ := newEngine(t, engine.Config{}, "abcdefghij", 0)
	req := ask
	req.Params.MaxTokens = 4
	st, err := e.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	text, res, err := engine.Collect(context.Background(), st)
	if err != nil || text != "abcd" || res.FinishReason != engine.FinishLength || res.CompletionTokens != 4 {
		t.Fatalf("got %q %+v %v; want \"abcd\", length, 4 tokens", text, res, err)
	}
}

func TestInputErrorsNameTheField(t *testing.T) {
	e, _ := newEngine(t, engine.Config{MaxPromptTokens: 30, MaxNewTokens: 100}, "x", 0)
	neg := -0.5
	cases := []struct {
		req   engine.Request
		field string
	}{
		{engine.Request{}, "messages"},
		{engine.Request{Messages: []chat.Message{{Role: "user", Content: strings.Repeat("x", 50)}}}, "messages"},
		{engine.Request{Messages: []chat.Message{{Role: "robot", Content: "x"}}}, "messages"},
		{engine.Request{Messages: ask.Messages[:0:0]}, "messages"},
		{engine.Request{Messages: []chat.Message{{Role: "user"}}, Params: engine.Params{MaxTokens: 101}}, "max_tokens"},
		{engine.Request{Messages: []chat.Message{{Role: "user"}}, Params: engine.Params{Temperature: &neg}}, "temperature"},
		{engine.Request{Messages: []chat.Message{{Role: "user"}}, Params: engine.Params{TopP: &neg}}, "top_p"},
	}
	for i, c := range cases {
		_, err := e.Generate(context.Background(), c.req)
		var ie *engine.InputError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("case %d: error %v, want an InputError on %s", i, err, c.field)
		}
	}
	if s := e.Stats(); s.Active != 0 || s.Waiting != 0 {
		t.Fatalf("refused requests left state behind: %+v", s)
	}
}

func TestConcurrentRequestsShareDecodeSteps(t *testing.T) {
	const reply = "0123456789abcdefghij"
	e, m := newEngine(t, engine.Config{MaxBatch: 8}, reply, 2*time.Millisecond)
	// Hold the loop in a slow first prefill so all eight are queued before any is admitted.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := e.Generate(context.Background(), ask)
			if err != nil {
				errs <- err
				return
			}
			text, _, err := engine.Collect(context.Background(), st)
			if err == nil && text != reply {
				err = errors.New("wrong text " + text)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_, maxBatch, steps, prefills := m.Stats()
	if prefills != 8 || maxBatch < 2 {
		t.Fatalf("prefills %d, largest batch %d: requests were not decoded together", prefills, maxBatch)
	}
	// Sequential decoding would take 8×len(reply) steps.
	if steps >= 8*len(reply) {
		t.Fatalf("%d steps for 8 replies of %d tokens: not batched", steps, len(reply))
	}
}

func TestCancelFreesSlotAtOnce(t *testing.T) {
	e, m := newEngine(t, engine.Config{MaxBatch: 1, MaxQueue: 1}, strings.Repeat("y", 10000), time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := e.Generate(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, res, err := engine.Collect(context.Background(), st)
	if err != nil || res.FinishReason != engine.FinishCancelled || res.CompletionTokens >= 10000 {
		t.Fatalf("after cancel: %+v %v", res, err)
	}
	testkit.Eventually(t, 5*time.Second, "slot freed", func() bool {
		live, _, _, _ := m.Stats()
		return e.Stats().Active == 0 && live == 0
	})
	// The slot is usable again.
	m.Reply = "ok"
	st, err = e.Generate(context.Background(), ask)
	if err != nil {
		t.Fatal(err)
	}
	if text, _, err := engine.Collect(context.Background(), st); err != nil || text != "ok" {
		t.Fatalf("after the freed slot: %q %v", text, err)
	}
}

func TestQueueFullAndCancelledWaiterLeavesQueue(t *testing.T) {
	e, _ := newEngine(t, engine.Config{MaxBatch: 1, MaxQueue: 1}, strings.Repeat("z", 100000), time.Millisecond)
	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	st1, err := e.Generate(ctx1, ask)
	if err != nil {
		t.Fatal(err)
	}
	st1.Next(context.Background()) // active now
	ctx2, cancel2 := context.WithCancel(context.Background())
	st2, err := e.Generate(ctx2, ask)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Generate(context.Background(), ask); !errors.Is(err, engine.ErrQueueFull) {
		t.Fatalf("third request: %v, want ErrQueueFull", err)
	}
	cancel2()
	if _, res, err := engine.Collect(context.Background(), st2); err != nil || res.FinishReason != engine.FinishCancelled || res.CompletionTokens != 0 {
		t.Fatalf("cancelled waiter: %+v %v", res, err)
	}
	if s := e.Stats(); s.Waiting != 0 {
		t.Fatalf("cancelled waiter still queued: %+v", s)
	}
	ctx3, cancel3 := context.WithCancel(context.Background())
	defer cancel3()
	if _, err := e.Generate(ctx3, ask); err != nil {
		t.Fatalf("queue should have room again: %v", err)
	}
}

func TestHotSwapFinishesInFlightOnOldModel(t *testing.T) {
	oldReply := strings.Repeat("o", 200)
	e, _ := newEngine(t, engine.Config{}, oldReply, time.Millisecond)
	inflight, err := e.Generate(context.Background(), ask)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inflight.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	_, nb := fakemodel.New("new", "fresh", 0)
	e.Swap(nb)
	st, err := e.Generate(context.Background(), ask)
	if err != nil {
		t.Fatal(err)
	}
	if text, res, _ := engine.Collect(context.Background(), st); text != "fresh" || res.Model != "new" {
		t.Fatalf("request after swap got %q from %s", text, res.Model)
	}
	rest, res, err := engine.Collect(context.Background(), inflight)
	if err != nil || res.Model != "fake" || res.CompletionTokens != len(oldReply) || res.FinishReason != engine.FinishStop {
		t.Fatalf("in-flight request after swap: %+v %v (%d bytes)", res, err, len(rest))
	}

	// Close of a swapped-out model waits for its last request.
	_, b3 := fakemodel.New("third", strings.Repeat("t", 100), time.Millisecond)
	b3.Close = func() error { close(closed); return nil }
	e.Swap(b3)
	st3, _ := e.Generate(context.Background(), ask)
	st3.Next(context.Background())
	_, b4 := fakemodel.New("fourth", "4", 0)
	e.Swap(b4)
	select {
	case <-closed:
		t.Fatal("old model closed while a request was still decoding on it")
	default:
	}
	engine.Collect(context.Background(), st3)
	testkit.Eventually(t, 5*time.Second, "old model closed", func() bool {
		select {
		case <-closed:
			return true
		default:
			return false
		}
	})
}

func TestShutdownDrainsThenRefuses(t *testing.T) {
	m, b := fakemodel.New("fake", "drain me", time.Millisecond)
	e := engine.New(engine.Config{}, &b)
	st, err := e.Generate(context.Background(), ask)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if text, _, err := engine.Collect(context.Background(), st); text != "drain me" || err != nil {
		t.Fatalf("in-flight request during shutdown: %q %v", text, err)
	}
	if _, err := e.Generate(context.Background(), ask); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("after shutdown: %v, want ErrClosed", err)
	}
	if live, _, _, _ := m.Stats(); live != 0 {
		t.Fatalf("%d sequences leaked", live)
	}
}

func TestShutdownGraceEndsStragglers(t *testing.T) {
	_, b := fakemodel.New("fake", strings.Repeat("s", 100000), time.Millisecond)
	e := engine.New(engine.Config{}, &b)
	st, _ := e.Generate(context.Background(), ask)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v", err)
	}
	if _, _, err := engine.Collect(context.Background(), st); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("straggler: %v, want ErrClosed", err)
	}
}

func TestNoModel(t *testing.T) {
	e := engine.New(engine.Config{}, nil)
	defer e.Shutdown(context.Background())
	if _, err := e.Generate(context.Background(), ask); !errors.Is(err, engine.ErrNoModel) {
		t.Fatalf("got %v, want ErrNoModel", err)
	}
}

func TestSamplingDefaultsAndOverrides(t *testing.T) {
	e, m := newEngine(t, engine.Config{}, "x", 0)
	zero, k, seed := 0.0, 5, uint64(99)
	for _, p := range []engine.Params{{Temperature: &zero, TopK: &k, Seed: &seed}, {}, {}} {
		st, err := e.Generate(context.Background(), engine.Request{Messages: ask.Messages, Params: p})
		if err != nil {
			t.Fatal(err)
		}
		engine.Collect(context.Background(), st)
	}
	got := m.Sampling()
	want0 := engine.Sampling{Temperature: 0, TopP: 0.8, TopK: 5, RepetitionPenalty: 1.05, Seed: 99}
	if got[0] != want0 {
		t.Fatalf("overrides: %+v, want %+v", got[0], want0)
	}
	if got[1].Temperature != 0.7 || got[1].TopK != 20 || got[1].Seed == got[2].Seed {
		t.Fatalf("defaults %+v, %+v: want the model's defaults and distinct random seeds", got[1], got[2])
	}
}
