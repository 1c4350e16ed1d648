package vocab

import (
	"fmt"
	"os"
	"path/filepath"

	"medqa/trainer/atomicfile"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// MapFile is the file beside the trimmed tokenizer that records where each
// new id came from, so that embeddings of the source model can be carried
// over and ids translated.
const MapFile = "vocab_map.json"

// Map is the content of MapFile.
type Map struct {
	Stats    Stats   `json:"stats"`
	NewToOld []int32 `json:"new_to_old"`
}

// Report is what Build measured: the corpus under the source tokenizer
// and under the trimmed one (the same token count when MinCount is 1).
type Report struct {
	Source, Trimmed *Corpus
}

// Build is the whole job: read the source tokenizer in srcDir, count the
// tokens of the split files, trim, and render the output files (by name).
// system, when not empty, becomes the chat template's default system
// prompt. The output is checked to load before it is returned.
func Build(srcDir string, splitFiles []string, minCount int, system string) (map[string][]byte, *Trimmed, *Report, error) {
	files, err := ReadDir(srcDir)
	if err != nil {
		return nil, nil, nil, err
	}
	tok, err := tokenizer.Load(srcDir)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl, err := chat.Parse(files.ConfigJSON)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", filepath.Join(srcDir, "tokenizer_config.json"), err)
	}
	if system != "" {
		tmpl = &chat.Template{DefaultSystem: system}
	}
	corpus := NewCorpus(tok)
	for _, p := range splitFiles {
		if err := corpus.AddFile(tok, tmpl, p); err != nil {
			return nil, nil, nil, err
		}
	}
	src, err := files.Source()
	if err != nil {
		return nil, nil, nil, err
	}
	trimmed, err := Trim(src, corpus.Counts, minCount)
	if err != nil {
		return nil, nil, nil, err
	}
	out, err := trimmed.Render(files, system)
	if err != nil {
		return nil, nil, nil, err
	}
	newTok, err := tokenizer.Parse(out["tokenizer.json"], out["tokenizer_config.json"])
	if err != nil {
		return nil, nil, nil, err
	}
	after := NewCorpus(newTok)
	for _, p := range splitFiles {
		if err := after.AddFile(newTok, tmpl, p); err != nil {
			return nil, nil, nil, err
		}
	}
	return out, trimmed, &Report{Source: corpus, Trimmed: after}, nil
}

// Render produces the output files and checks that they load as a
// tokenizer and a chat template.
func (t *Trimmed) Render(src *Files, system string) (map[string][]byte, error) {
	tj, err := t.TokenizerJSON(src.TokenizerJSON)
	if err != nil {
		return nil, err
	}
	cj, err := t.ConfigJSON(src.ConfigJSON, system)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Parse(tj, cj)
	if err != nil {
		return nil, fmt.Errorf("vocab: the trimmed tokenizer does not load: %w", err)
	}
	if tok.VocabSize() != len(t.NewToOld) {
		return nil, fmt.Errorf("vocab: the trimmed tokenizer has %d ids, want %d", tok.VocabSize(), len(t.NewToOld))
	}
	if _, err := chat.Parse(cj); err != nil {
		return nil, fmt.Errorf("vocab: the trimmed tokenizer_config.json: %w", err)
	}
	return map[string][]byte{
		"tokenizer.json":        tj,
		"tokenizer_config.json": cj,
		MapFile:                 append(marshal(Map{Stats: t.Stats, NewToOld: t.NewToOld}), '\n'),
	}, nil
}

// WriteDir writes files into dir whole or not at all: they go to a fresh
// folder beside dir, which then replaces it. An existing dir is replaced
// only if it holds nothing but files of the same names.
func WriteDir(dir string, files map[string][]byte) (err error) {
	dir = filepath.Clean(dir)
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if _, ours := files[e.Name()]; !ours {
				return fmt.Errorf("vocab: %s holds %s, which this would delete; choose an empty or new folder", dir, e.Name())
			}
		}
	}
	tmp, err := atomicfile.TempDir(dir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return err
		}
	}
	return atomicfile.ReplaceDir(tmp, dir)
}
