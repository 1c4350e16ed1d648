package vocab

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/unicode/norm"

	"medqa/files"
	"medqa/trainer/data"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// fixture is the real corpus: MedQuAD's leak-free splits as `trainer data`
// makes them, the Qwen2.5 tokenizer, and its trim to the training split.
type fixture struct {
	splits    [3][]data.Row
	srcDir    string
	src       *tokenizer.Tokenizer
	files     *Files
	trimmed   *Trimmed
	out       map[string][]byte
	tok       *tokenizer.Tokenizer // the trimmed one
	tmpl      *chat.Template
	trainSeqs [][]int32 // source ids of every training sequence
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func loadFixture(t *testing.T) *fixture {
	t.Helper()
	root := files.RepoRoot(t)
	fixOnce.Do(func() { fix, fixErr = buildFixture(root) })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func buildFixture(root string) (*fixture, error) {
	f := &fixture{srcDir: filepath.Join(root, "assets", "tokenizer", "qwen2.5")}
	ds, err := data.Build(data.Config{
		Inputs:       []string{filepath.Join(root, "files", "medquad_qa.csv.gz")},
		Split:        data.SplitConfig{Seed: 42, Validation: 0.09, Test: 0.10}, // `trainer data`'s defaults
		SystemPrompt: data.DefaultSystemPrompt,
	})
	if err != nil {
		return nil, err
	}
	f.splits = ds.Splits
	if f.files, err = ReadDir(f.srcDir); err != nil {
		return nil, err
	}
	if f.src, err = tokenizer.Load(f.srcDir); err != nil {
		return nil, err
	}
	f.tmpl = &chat.Template{DefaultSystem: data.DefaultSystemPrompt}
	corpus := NewCorpus(f.src)
	for _, r := range f.splits[0] {
		ex, _, err := data.EncodeExample(f.src, f.tmpl, r.Messages(data.DefaultSystemPrompt), data.EncodeOptions{MaxLength: untruncated, AllTokens: true})
		if err != nil {
			return nil, err
		}
		corpus.Add(ex.InputIDs)
		f.trainSeqs = append(f.trainSeqs, ex.InputIDs)
	}
	src, err := f.files.Source()
	if err != nil {
		return nil, err
	}
	if f.trimmed, err = Trim(src, corpus.Counts, 1); err != nil {
		return nil, err
	}
	if f.out, err = f.trimmed.Render(f.files, data.DefaultSystemPrompt); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vocab-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := WriteDir(filepath.Join(dir, "tok"), f.out); err != nil {
		return nil, err
	}
	// Through the folder loader, as every user of the model loads it.
	f.tok, err = tokenizer.Load(filepath.Join(dir, "tok"))
	return f, err
}

// Every training sequence encodes, under the trimmed tokenizer, to the
// source's ids mapped through the id map.
func TestCorpusEncodingUnchanged(t *testing.T) {
	f := loadFixture(t)
	if len(f.trainSeqs) < 10000 {
		t.Fatalf("only %d training rows; the fixture is not the real corpus", len(f.trainSeqs))
	}
	for i, r := range f.splits[0] {
		ex, _, err := data.EncodeExample(f.tok, f.tmpl, r.Messages(data.DefaultSystemPrompt), data.EncodeOptions{MaxLength: untruncated, AllTokens: true})
		if err != nil {
			t.Fatal(err)
		}
		want := f.trainSeqs[i]
		if len(ex.InputIDs) != len(want) {
			t.Fatalf("row %s: %d tokens trimmed, %d source", r.ID, len(ex.InputIDs), len(want))
		}
		for j, id := range ex.InputIDs {
			if old := f.trimmed.NewToOld[id]; old != want[j] || f.trimmed.OldToNew[want[j]] != id {
				t.Fatalf("row %s token %d: trimmed id %d (source %d), want source %d", r.ID, j, id, old, want[j])
			}
		}
	}
}

// Text the trimmed vocabulary was not built from still encodes and decodes
// back to itself (NFC-normalized, as the tokenizer normalizes).
func TestOutsideTextRoundTrips(t *testing.T) {
	f := loadFixture(t)
	texts := []string{
		"Qu'est-ce que le glaucome ? Ça dépend… 緑内障とは何ですか？ Глаукома — это болезнь. 🙂👁️",
		"e\u0301tude ﬁ x² ½ \t\ttabs\r\nCRLF   trailing   ",
		"SELECT * FROM t WHERE id=42; -- ∀x∈ℝ: x²≥0",
	}
	for _, r := range f.splits[2] { // the test split: never seen by the trim
		texts = append(texts, r.Question, r.Answer)
	}
	longer := 0
	for _, s := range texts {
		ids := f.tok.Encode(s)
		if got := f.tok.Decode(ids); got != norm.NFC.String(s) {
			t.Fatalf("round trip of %.60q gave %.60q", s, got)
		}
		if len(ids) > len(f.src.Encode(s)) {
			longer++
		}
	}
	if longer == 0 {
		t.Errorf("no text needed more tokens than under the source tokenizer; the trim is not trimming")
	}
}

func TestSpecialTokensAndTemplate(t *testing.T) {
	f := loadFixture(t)
	sp := f.tok.Special()
	n := f.tok.VocabSize()
	if n != len(f.trimmed.NewToOld) || n > 40000 {
		t.Fatalf("trimmed vocabulary has %d ids (map: %d)", n, len(f.trimmed.NewToOld))
	}
	// Added tokens last, in Qwen's order.
	if sp.EndOfText != n-22 || sp.ImStart != n-21 || sp.ImEnd != n-20 {
		t.Errorf("special ids %+v, want <|endoftext|>=%d <|im_start|>=%d <|im_end|>=%d", sp, n-22, n-21, n-20)
	}
	if sp.EOS != sp.ImEnd || sp.PAD != sp.EndOfText {
		t.Errorf("eos %d pad %d, want <|im_end|> %d and <|endoftext|> %d", sp.EOS, sp.PAD, sp.ImEnd, sp.EndOfText)
	}
	for i, a := range f.trimmed.Added {
		old := f.trimmed.NewToOld[a.ID]
		if f.tok.IsSpecial(int(a.ID)) != f.src.IsSpecial(int(old)) || old != 151643+int32(i) {
			t.Errorf("added token %q: id %d special %v, source %d", a.Content, a.ID, f.tok.IsSpecial(int(a.ID)), old)
		}
		if id, ok := f.tok.TokenID(a.Content); !ok || id != int(a.ID) {
			t.Errorf("added token %q: TokenID = %d, %v", a.Content, id, ok)
		}
	}
	// The byte tokens keep their source ids, 0…255.
	for b := 0; b < 256; b++ {
		tok := string(byteToRune(byte(b)))
		id, ok := f.tok.TokenID(tok)
		old, _ := f.src.TokenID(tok)
		if !ok || id != old || id > 255 || f.trimmed.NewToOld[id] != int32(old) {
			t.Fatalf("byte 0x%02X: id %d (%v), source id %d", b, id, ok, old)
		}
	}
	tmpl, err := chat.Parse(f.out["tokenizer_config.json"])
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.DefaultSystem != data.DefaultSystemPrompt {
		t.Errorf("default system prompt %q", tmpl.DefaultSystem)
	}
	prompt, _ := tmpl.Render([]chat.Message{{Role: "user", Content: "What is glaucoma?"}}, true)
	ids := f.tok.Encode(prompt)
	if ids[0] != sp.ImStart || ids[len(ids)-1] != 198 && f.tok.Decode(ids[len(ids)-1:]) != "\n" {
		t.Errorf("prompt ids %v", ids)
	}
	if got := f.tok.Decode(ids); got != prompt {
		t.Errorf("prompt decodes to %q", got)
	}
	mapped := make([]int, len(ids))
	for i, id := range ids {
		mapped[i] = int(f.trimmed.NewToOld[id])
	}
	if want := f.src.Encode(prompt); !equal(mapped, want) {
		t.Errorf("prompt: trimmed ids map to %v, source encodes %v", mapped, want)
	}
}

// Every kept merge's parts and result are kept, and no merge whose result
// is kept was dropped.
func TestMergeClosure(t *testing.T) {
	f := loadFixture(t)
	src, _ := f.files.Source()
	kept := map[string]bool{}
	for _, tok := range f.trimmed.Vocab {
		kept[tok] = true
	}
	n := 0
	for _, m := range src.Merges {
		if kept[m[0]+m[1]] {
			if !kept[m[0]] || !kept[m[1]] {
				t.Fatalf("merge %q %q kept without its parts", m[0], m[1])
			}
			if f.trimmed.Merges[n] != m {
				t.Fatalf("merge %d is %q, want %q (order must be kept)", n, f.trimmed.Merges[n], m)
			}
			n++
		}
	}
	if n != len(f.trimmed.Merges) {
		t.Errorf("%d merges kept, %d have kept results", len(f.trimmed.Merges), n)
	}
}

func TestMinCountDropsRareTokens(t *testing.T) {
	f := loadFixture(t)
	src, _ := f.files.Source()
	counts := make([]int64, f.src.VocabSize())
	for _, seq := range f.trainSeqs {
		for _, id := range seq {
			counts[id]++
		}
	}
	tr, err := Trim(src, counts, 16)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Stats.IDs >= f.trimmed.Stats.IDs || tr.Stats.Rare == 0 {
		t.Fatalf("min-count 16 kept %d ids (min-count 1: %d)", tr.Stats.IDs, f.trimmed.Stats.IDs)
	}
	for id, c := range counts[:len(src.Vocab)] {
		if c >= 16 && tr.OldToNew[id] < 0 {
			t.Fatalf("token %d seen %d times was dropped", id, c)
		}
	}
	out, err := tr.Render(f.files, "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Parse(out["tokenizer.json"], out["tokenizer_config.json"])
	if err != nil {
		t.Fatal(err)
	}
	s := f.splits[0][0].Answer
	if got := tok.Decode(tok.Encode(s)); got != norm.NFC.String(s) {
		t.Errorf("round trip failed")
	}
}

func TestWriteDirRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	err := WriteDir(dir, map[string][]byte{"tokenizer.json": []byte("{}")})
	if err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("err = %v, want a refusal naming notes.txt", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Fatal("notes.txt was deleted")
	}
}

func TestBadSource(t *testing.T) {
	src := &Source{Vocab: map[string]int32{"a": 0, "b": 2}}
	if _, err := Trim(src, nil, 1); err == nil || !strings.Contains(err.Error(), "contiguous") {
		t.Errorf("gap in ids: err = %v", err)
	}
	if _, err := (&Files{TokenizerJSON: []byte(`{"model":{"type":"WordPiece"}}`)}).Source(); err == nil || !strings.Contains(err.Error(), "model.type") {
		t.Errorf("WordPiece: err = %v", err)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
