package defaultmodel

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"medqa/files"
	"medqa/trainer/modeldir"
	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// shippedDir is assets/model (or $MEDQA_MODEL_DIR, to check a model the
// recipe is still building). The default model is committed, so a missing
// one fails the tests: it is a broken checkout, not an optional extra.
func shippedDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("MEDQA_MODEL_DIR"); d != "" {
		return d
	}
	m := filepath.Join(files.RepoRoot(t), "assets", "model")
	if _, err := os.Stat(filepath.Join(m, "config.json")); err != nil {
		t.Fatalf("the default model is missing (%v); rebuild it with trainer/defaultmodel/recipe.sh", err)
	}
	return m
}

// glaucomaGolden is the shipped model's greedy answer to "What is
// glaucoma?" (its first 24 tokens), recorded when assets/model was built.
// It pins the whole inference path: chat template, trimmed tokenizer,
// int8 loading, forward pass and greedy decoding must all agree with what
// the recipe shipped. Rebuilding the model changes it. It is the float32
// product of the int8 weights (quant.ForceDequant): the int8 kernels that
// serve the model also quantize activations, which moves near-ties of this
// small model's greedy choice (here from token 9 on, with AVX2 but not with
// the portable code); trainer/quant's TestGreedyAgreementOnShippedModel
// bounds that difference over many questions.
const glaucomaGolden = "The most common type of glaucoma is the loss of vision, which is the sharp, sharp, or sharp pain"

// The shipped model answers "What is glaucoma?" through its own chat
// template and tokenizer, greedily: on topic through the int8 kernels that
// serve it, and exactly the recorded answer through the float32 product.
func TestShippedModelAnswers(t *testing.T) {
	for _, dequant := range []bool{false, true} {
		prev := quant.ForceDequant
		quant.ForceDequant = dequant
		answer, prompt := shippedAnswer(t)
		quant.ForceDequant = prev
		// Whatever the model, the newcomer's first question must get an answer
		// about glaucoma (issue 9's "done when"), not fluent text on another disease.
		if !strings.Contains(strings.ToLower(answer), "glaucoma") {
			t.Errorf("answer %q is off topic: it never mentions glaucoma", answer)
		}
		if !strings.Contains(prompt, "You are a medical question-answering assistant.") {
			t.Errorf("the chat template did not insert the training system prompt: %q", prompt)
		}
		if dequant && os.Getenv("MEDQA_MODEL_DIR") == "" && answer != glaucomaGolden {
			// (a model other than the shipped one has no golden)
			t.Errorf("answer %q, want the recorded %q", answer, glaucomaGolden)
		}
	}
}

// shippedAnswer loads the shipped model and returns its greedy answer to
// "What is glaucoma?" and the rendered prompt.
func shippedAnswer(t *testing.T) (answer, prompt string) {
	t.Helper()
	dir := shippedDir(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m, err := modeldir.Load(dir, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := qwen2.LoadGenerationConfig(dir, m.Config)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() > m.Config.VocabSize {
		t.Fatalf("tokenizer has %d ids, the model %d", tok.VocabSize(), m.Config.VocabSize)
	}
	prompt, err = tmpl.Render([]chat.Message{{Role: "user", Content: "What is glaucoma?"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, id := range tok.Encode(prompt) {
		ids = append(ids, int64(id))
	}
	opt := gc.Options()
	opt.MaxNewTokens = 24
	res, err := m.Generate(context.Background(), ids, opt)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(res.Tokens))
	for i, id := range res.Tokens {
		out[i] = int(id)
		if tok.IsSpecial(out[i]) {
			t.Errorf("token %d of the answer is the special token %d", i, out[i])
		}
	}
	answer = tok.Decode(out)
	t.Logf("What is glaucoma? → %q (%s; dequantized: %v)", answer, res.Reason, quant.ForceDequant)
	return answer, prompt
}

// The shipped folder stays within the 30 MB the issue allows and holds a
// standard model directory plus its card and report.
func TestShippedModelFiles(t *testing.T) {
	dir := shippedDir(t)
	var total int64
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			total += fi.Size()
		}
		return err
	})
	if total > 30<<20 {
		t.Errorf("assets/model holds %d bytes, over 30 MB", total)
	}
	for _, f := range []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "README.md", "eval/report.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
}
