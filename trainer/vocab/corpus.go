package vocab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"medqa/trainer/data"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// Corpus counts how often each token id occurs in the training sequences
// of a split file, exactly as the trainer builds them.
type Corpus struct {
	Counts []int64 // by source id
	Rows   int
	Tokens int64
}

// NewCorpus returns an empty corpus for tok's ids.
func NewCorpus(tok *tokenizer.Tokenizer) *Corpus {
	return &Corpus{Counts: make([]int64, tok.VocabSize())}
}

// Add counts ids.
func (c *Corpus) Add(ids []int32) {
	for _, id := range ids {
		c.Counts[id]++
	}
	c.Tokens += int64(len(ids))
}

// untruncated is a max length no example reaches, so that every token of
// every example is counted.
const untruncated = 1 << 30

// AddFile counts the examples of a split file (JSON lines with a
// "messages" array, as `trainer data` writes) through data.EncodeExample,
// the function the trainer uses, so the counted ids are the trained ids.
func (c *Corpus) AddFile(tok *tokenizer.Tokenizer, tmpl *chat.Template, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("vocab: %w", err)
	}
	defer f.Close()
	return c.AddJSONL(tok, tmpl, path, f)
}

// AddJSONL is AddFile on a reader; name is used in errors.
func (c *Corpus) AddJSONL(tok *tokenizer.Tokenizer, tmpl *chat.Template, name string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec struct {
			Messages []chat.Message `json:"messages"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		ex, _, err := data.EncodeExample(tok, tmpl, rec.Messages, data.EncodeOptions{MaxLength: untruncated, AllTokens: true})
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		c.Add(ex.InputIDs)
		c.Rows++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
