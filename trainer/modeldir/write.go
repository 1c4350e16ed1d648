package modeldir

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"medqa/assets"
	"medqa/trainer/atomicfile"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// TokenizerFiles are the tokenizer files a Hugging Face model directory may hold.
var TokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
	"special_tokens_map.json", "added_tokens.json"}

// Write publishes m as a Hugging Face model directory at dst (config.json,
// model.safetensors, generation_config.json, tokenizer files), atomically: it
// is built beside dst and renamed into place. generation_config.json and the
// tokenizer files are copied from base when it has them; otherwise
// generation_config.json is derived from the config and the tokenizer files
// come from tokDir, or from the embedded Qwen2.5 tokenizer when tokDir is "".
// Training (--full) and merge both end here.
func Write(dst string, m *qwen2.Model, base, tokDir string) (err error) {
	defer torch.Recover(&err)
	tmp, err := atomicfile.TempDir(dst)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := m.Save(tmp); err != nil {
		return err
	}
	if base != "" {
		if err := copyIfPresent(filepath.Join(base, "generation_config.json"), filepath.Join(tmp, "generation_config.json")); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "generation_config.json")); err != nil {
		g := qwen2.GenerationConfig{BOSTokenID: m.Config.BOSTokenID, EOSTokenID: m.Config.EOSTokenID}
		raw, _ := json.MarshalIndent(g, "", "  ")
		if err := os.WriteFile(filepath.Join(tmp, "generation_config.json"), append(raw, '\n'), 0o644); err != nil {
			return err
		}
	}
	copied := 0
	for _, src := range []string{base, tokDir} {
		if src == "" || copied > 0 {
			continue
		}
		for _, name := range TokenizerFiles {
			if err := copyIfPresent(filepath.Join(src, name), filepath.Join(tmp, name)); err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(tmp, name)); err == nil {
				copied++
			}
		}
	}
	if copied == 0 {
		if err := writeEmbeddedTokenizer(tmp); err != nil {
			return err
		}
	}
	return atomicfile.PublishDir(tmp, dst)
}

func copyIfPresent(src, dst string) error {
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFrom(dst, in)
}

func writeFrom(dst string, r io.Reader) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeEmbeddedTokenizer writes the embedded Qwen2.5 base tokenizer
// (tokenizer.json is stored gzipped in the binary).
func writeEmbeddedTokenizer(dir string) error {
	cfg, err := assets.Tokenizer.Open(path.Join(assets.TokenizerBase, "tokenizer_config.json"))
	if err != nil {
		return err
	}
	defer cfg.Close()
	if err := writeFrom(filepath.Join(dir, "tokenizer_config.json"), cfg); err != nil {
		return err
	}
	gz, err := assets.Tokenizer.Open(path.Join(assets.TokenizerBase, "tokenizer.json.gz"))
	if err != nil {
		return err
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		return err
	}
	return writeFrom(filepath.Join(dir, "tokenizer.json"), zr)
}
