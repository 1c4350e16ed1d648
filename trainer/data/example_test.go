package data

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"medqa/assets"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

var (
	exTokOnce sync.Once
	exTok     *tokenizer.Tokenizer
	exTokErr  error
)

func exTokenizer(t *testing.T) *tokenizer.Tokenizer {
	exTokOnce.Do(func() { exTok, exTokErr = tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerBase) })
	if exTokErr != nil {
		t.Fatal(exTokErr)
	}
	return exTok
}

func exQA(q, a string) []chat.Message {
	return []chat.Message{{Role: "user", Content: q}, {Role: "assistant", Content: a}}
}

// learned returns the ids whose labels are learned, checking that labels
// are either -100 or the input id.
func exLearned(t *testing.T, ex Example) []int {
	t.Helper()
	if len(ex.Labels) != len(ex.InputIDs) || len(ex.AttentionMask) != len(ex.InputIDs) {
		t.Fatalf("lengths differ: %d ids, %d labels, %d mask", len(ex.InputIDs), len(ex.Labels), len(ex.AttentionMask))
	}
	var out []int
	for i, l := range ex.Labels {
		if ex.AttentionMask[i] != 1 {
			t.Fatalf("attention_mask[%d] = %d", i, ex.AttentionMask[i])
		}
		if l != -100 {
			if l != ex.InputIDs[i] {
				t.Fatalf("labels[%d] = %d, input id %d", i, l, ex.InputIDs[i])
			}
			out = append(out, int(l))
		}
	}
	return out
}

func exInts(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

func TestEncodeExampleLabels(t *testing.T) {
	tk := exTokenizer(t)
	msgs := exQA("What causes gout?", "Uric acid crystals in the joints.")
	ex, cut, err := EncodeExample(tk, chat.Base, msgs, EncodeOptions{})
	if err != nil || cut {
		t.Fatal(err, cut)
	}
	full, _ := chat.Base.Render(msgs, false)
	// For an answer that starts with a letter the sequence is exactly the
	// tokenized rendering.
	if got, want := exInts(ex.InputIDs), tk.Encode(full); !slices.Equal(got, want) {
		t.Fatalf("input ids\n got %v\nwant %v", got, want)
	}
	if got := tk.Decode(exLearned(t, ex)); got != "Uric acid crystals in the joints.<|im_end|>" {
		t.Errorf("learned text %q", got)
	}
	if last := len(ex.Labels) - 1; ex.Labels[last] != -100 || tk.Decode([]int{int(ex.InputIDs[last])}) != "\n" {
		t.Errorf("the trailing newline should be in the input but not learned")
	}

	all, _, err := EncodeExample(tk, chat.Base, msgs, EncodeOptions{AllTokens: true})
	if err != nil || !slices.Equal(all.InputIDs, ex.InputIDs) || !slices.Equal(all.Labels, all.InputIDs) {
		t.Errorf("AllTokens: want the same ids, all learned; got %v, %v", all, err)
	}
}

// An answer starting with a newline must not merge with the prompt's last
// "\n": the prompt is tokenized as at inference.
func TestEncodeExamplePromptAsAtInference(t *testing.T) {
	tk := exTokenizer(t)
	msgs := exQA("Q?", "\n\nA list:\n- one")
	ex, _, err := EncodeExample(tk, chat.Instruct, msgs, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prompt, _ := chat.Instruct.Render(msgs[:1], true)
	p := tk.Encode(prompt)
	if !slices.Equal(exInts(ex.InputIDs[:len(p)]), p) {
		t.Fatalf("prompt ids differ from inference's")
	}
	if got := tk.Decode(exLearned(t, ex)); got != "\n\nA list:\n- one<|im_end|>" {
		t.Errorf("learned text %q", got)
	}
}

func TestEncodeExampleTruncatesAnswerTail(t *testing.T) {
	tk := exTokenizer(t)
	answer := strings.Repeat("Gout is a form of arthritis. ", 100)
	msgs := exQA("What is gout?", answer)
	ex, cut, err := EncodeExample(tk, chat.Base, msgs, EncodeOptions{MaxLength: 128})
	if err != nil || !cut || len(ex.InputIDs) != 128 {
		t.Fatalf("cut=%v len=%d err=%v", cut, len(ex.InputIDs), err)
	}
	prompt, _ := chat.Base.Render(msgs[:1], true)
	if !strings.HasPrefix(tk.Decode(exInts(ex.InputIDs)), prompt) {
		t.Error("the prompt was cut although the answer could be")
	}
	got := tk.Decode(exLearned(t, ex))
	if !strings.HasPrefix(answer, got) || len(got) < 100 || strings.Contains(got, "<|im_end|>") {
		t.Errorf("learned text should be the answer's start without <|im_end|>: %q", got)
	}
}

func TestEncodeExampleTruncatesQuestion(t *testing.T) {
	tk := exTokenizer(t)
	question := "Tell me about " + strings.Repeat("kidney failure and ", 200)
	msgs := []chat.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: question}, {Role: "assistant", Content: "See a doctor."}}
	ex, cut, err := EncodeExample(tk, chat.Base, msgs, EncodeOptions{MaxLength: 100})
	if err != nil || !cut || len(ex.InputIDs) != 100 {
		t.Fatalf("cut=%v len=%d err=%v", cut, len(ex.InputIDs), err)
	}
	text := tk.Decode(exInts(ex.InputIDs))
	if !strings.HasPrefix(text, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nTell me about kidney") ||
		!strings.HasSuffix(text, "<|im_end|>\n<|im_start|>assistant\nSee a doctor.<|im_end|>\n") {
		t.Errorf("want the question's start and the whole answer, got %q", text)
	}
	if got := tk.Decode(exLearned(t, ex)); got != "See a doctor.<|im_end|>" {
		t.Errorf("learned text %q", got)
	}
	// The default is 512 tokens.
	ex, cut, err = EncodeExample(tk, chat.Base, msgs, EncodeOptions{})
	if err != nil || !cut || len(ex.InputIDs) != 512 {
		t.Errorf("default max length: cut=%v len=%d err=%v", cut, len(ex.InputIDs), err)
	}
}

func TestEncodeExampleErrors(t *testing.T) {
	tk := exTokenizer(t)
	for name, c := range map[string]struct {
		msgs []chat.Message
		opts EncodeOptions
	}{
		"no answer":      {[]chat.Message{{Role: "user", Content: "q"}}, EncodeOptions{}},
		"answer only":    {[]chat.Message{{Role: "assistant", Content: "a"}}, EncodeOptions{}},
		"ends with user": {[]chat.Message{{Role: "assistant", Content: "a"}, {Role: "user", Content: "q"}}, EncodeOptions{}},
		"unknown role":   {[]chat.Message{{Role: "doctor", Content: "q"}, {Role: "assistant", Content: "a"}}, EncodeOptions{}},
		"tiny max":       {exQA("q", "a"), EncodeOptions{MaxLength: 10}},
	} {
		if _, _, err := EncodeExample(tk, chat.Base, c.msgs, c.opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
