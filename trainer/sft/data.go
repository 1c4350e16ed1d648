package sft

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"

	"medqa/trainer/data"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// Dataset is the tokenized training and validation data.
type Dataset struct {
	Train, Validation []data.Example
	Stats             DataStats
}

// DataStats describes the data as the run saw it (run.json).
type DataStats struct {
	Dir            string      `json:"dir,omitempty"`
	Train          SplitStats  `json:"train"`
	Validation     SplitStats  `json:"validation"`
	EncodeSettings EncodeStats `json:"encode"`
}

// SplitStats counts one split.
type SplitStats struct {
	Examples    int     `json:"examples"`
	Tokens      int     `json:"tokens"`
	LabelTokens int     `json:"label_tokens"`
	Truncated   int     `json:"truncated"`
	MeanLength  float64 `json:"mean_length"`
	MaxLength   int     `json:"max_length"`
}

// EncodeStats records how conversations became token ids.
type EncodeStats struct {
	MaxLength int  `json:"max_length"`
	AllTokens bool `json:"all_tokens"`
	Packed    int  `json:"packed_sequences,omitempty"`
}

// splitRow is the part of a data pipeline JSON line that training reads.
type splitRow struct {
	Messages []chat.Message `json:"messages"`
}

// LoadData reads DIR/train.jsonl and DIR/validation.jsonl (as `trainer data`
// writes them) and encodes every row's messages with completion-only labels
// (or every token with opts.AllTokens). Errors name the file and line.
func LoadData(dir string, tok *tokenizer.Tokenizer, tmpl *chat.Template, opts data.EncodeOptions) (*Dataset, error) {
	if opts.MaxLength == 0 {
		opts.MaxLength = defaultMaxLength
	}
	ds := &Dataset{Stats: DataStats{Dir: dir, EncodeSettings: EncodeStats{MaxLength: opts.MaxLength, AllTokens: opts.AllTokens}}}
	var err error
	if ds.Train, ds.Stats.Train, err = loadSplit(filepath.Join(dir, data.SplitTrain+".jsonl"), tok, tmpl, opts); err != nil {
		return nil, err
	}
	if len(ds.Train) == 0 {
		return nil, fmt.Errorf("%s: no examples", filepath.Join(dir, data.SplitTrain+".jsonl"))
	}
	if ds.Validation, ds.Stats.Validation, err = loadSplit(filepath.Join(dir, data.SplitValidation+".jsonl"), tok, tmpl, opts); err != nil {
		return nil, err
	}
	return ds, nil
}

func loadSplit(path string, tok *tokenizer.Tokenizer, tmpl *chat.Template, opts data.EncodeOptions) ([]data.Example, SplitStats, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, SplitStats{}, fmt.Errorf("missing split file %s (make one with `trainer data --out %s`)", path, filepath.Dir(path))
	}
	if err != nil {
		return nil, SplitStats{}, err
	}
	defer f.Close()
	var out []data.Example
	var st SplitStats
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r splitRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, st, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if len(r.Messages) == 0 {
			return nil, st, fmt.Errorf("%s:%d: no \"messages\"", path, line)
		}
		ex, trunc, err := data.EncodeExample(tok, tmpl, r.Messages, opts)
		if err != nil {
			return nil, st, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if trunc {
			st.Truncated++
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, st, fmt.Errorf("%s:%d: %v", path, line+1, err)
	}
	st.count(out)
	return out, st, nil
}

func (st *SplitStats) count(exs []data.Example) {
	st.Examples = len(exs)
	for _, ex := range exs {
		st.Tokens += len(ex.InputIDs)
		st.MaxLength = max(st.MaxLength, len(ex.InputIDs))
		for _, l := range ex.Labels {
			if l != ignoreIndex {
				st.LabelTokens++
			}
		}
	}
	if st.Examples > 0 {
		st.MeanLength = float64(st.Tokens) / float64(st.Examples)
	}
}

// NewDataset wraps already tokenized examples (tests, other front ends).
func NewDataset(train, validation []data.Example) *Dataset {
	ds := &Dataset{Train: train, Validation: validation}
	ds.Stats.Train.count(train)
	ds.Stats.Validation.count(validation)
	return ds
}

// trainHash fingerprints the training sequences (ids and labels, in order),
// so that a resumed run can tell that its data is the data it started with.
func (ds *Dataset) trainHash() string {
	h := fnv.New64a()
	var buf [4]byte
	put := func(v int32) {
		binary.LittleEndian.PutUint32(buf[:], uint32(v))
		h.Write(buf[:])
	}
	for _, ex := range ds.Train {
		put(int32(len(ex.InputIDs)))
		for i := range ex.InputIDs {
			put(ex.InputIDs[i])
			put(ex.Labels[i])
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// checkVocab makes sure every id fits the model, naming the first that does not.
func (ds *Dataset) checkVocab(vocab int) error {
	for name, exs := range map[string][]data.Example{"train": ds.Train, "validation": ds.Validation} {
		for i, ex := range exs {
			for _, id := range ex.InputIDs {
				if id < 0 || int(id) >= vocab {
					return fmt.Errorf("%s example %d: token id %d is outside the model's vocabulary of %d (tokenizer and model do not match)",
						name, i+1, id, vocab)
				}
			}
		}
	}
	return nil
}
