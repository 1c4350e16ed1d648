// Package eval measures models on a data split: it generates an answer per
// question (greedy by default) with the chat template, scores each answer
// with medqa/wasm/metrics (SQuAD F1, ROUGE-1/2/L/Lsum, BLEU, sacreBLEU),
// measures perplexity on the reference answers (completion-only NLL, the
// tokens the fine-tune learns), and writes report.json and a self-contained
// report.html with one or two models side by side.
package eval

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"medqa/wasm/chat"
)

// Row is one line of a split file written by `trainer data`.
type Row struct {
	ID       string         `json:"id"`
	Question string         `json:"question"`
	Answer   string         `json:"answer"`
	QType    string         `json:"qtype"`
	Focus    string         `json:"focus,omitempty"`
	Source   string         `json:"source"`
	Messages []chat.Message `json:"messages"`
}

// ReadSplit reads dir/<split>.jsonl, keeping the first limit rows (0: all).
// Every row needs an id and messages ending with the assistant's answer;
// errors name the file and line.
func ReadSplit(dir, split string, limit int) ([]Row, error) {
	path := filepath.Join(dir, split+".jsonl")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var rows []Row
	for line := 1; sc.Scan() && (limit <= 0 || len(rows) < limit); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		n := len(r.Messages)
		switch {
		case r.ID == "":
			return nil, fmt.Errorf("%s:%d: row has no id", path, line)
		case n < 2 || r.Messages[n-1].Role != "assistant":
			return nil, fmt.Errorf("%s:%d: row %s: messages must end with the assistant's answer after a question", path, line, r.ID)
		case r.Messages[n-1].Content == "":
			return nil, fmt.Errorf("%s:%d: row %s: the reference answer is empty", path, line, r.ID)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(rows) == 0 {
		return nil, errors.New(path + ": no rows")
	}
	return rows, nil
}

// Reference is the answer the model is scored against.
func (r Row) Reference() string { return r.Messages[len(r.Messages)-1].Content }

// Prompt is the conversation before the answer.
func (r Row) Prompt() []chat.Message { return r.Messages[:len(r.Messages)-1] }
