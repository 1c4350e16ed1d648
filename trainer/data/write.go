package data

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"medqa/trainer/atomicfile"
	"medqa/wasm/chat"
)

// StatsFile is the name of the statistics file in the output directory;
// each split is written to "<split>.jsonl".
const StatsFile = "stats.json"

// OutputFiles are the files WriteDir writes, and the only ones it will
// replace.
var OutputFiles = []string{SplitTrain + ".jsonl", SplitValidation + ".jsonl", SplitTest + ".jsonl", StatsFile}

// record is one JSONL line: the row and its chat messages.
type record struct {
	Row
	Messages []chat.Message `json:"messages"`
}

// EncodeJSONL writes rows as JSON Lines, each with its messages.
func EncodeJSONL(w io.Writer, rows []Row, system string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // answers are full of <, > and &; keep them legible
	for _, r := range rows {
		if err := enc.Encode(record{r, r.Messages(system)}); err != nil {
			return err
		}
	}
	return nil
}

// Encode writes the stats as indented JSON (stats.json).
func (s Stats) Encode(w io.Writer) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteDir writes the splits and stats.json into the directory out, whole
// or not at all: everything goes to a fresh directory beside out, which then
// takes out's place. An existing out is replaced only when it holds nothing
// but files WriteDir writes, so pointing --out at a directory of other
// things fails instead of deleting them. Missing parents are created.
func (ds *Dataset) WriteDir(out string) (err error) {
	out = filepath.Clean(out)
	if err := checkReplaceable(out); err != nil {
		return err
	}
	tmp, err := atomicfile.TempDir(out)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	system := ds.Stats.SystemPrompt
	for i, name := range SplitNames {
		rows := ds.Splits[i]
		if err := writeFile(filepath.Join(tmp, name+".jsonl"), func(w io.Writer) error {
			return EncodeJSONL(w, rows, system)
		}); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(tmp, StatsFile), ds.Stats.Encode); err != nil {
		return err
	}
	return atomicfile.ReplaceDir(tmp, out)
}

// checkReplaceable fails when out exists and is not an earlier output.
func checkReplaceable(out string) error {
	fi, err := os.Stat(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("--out %s: exists and is not a directory", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	ours := map[string]bool{}
	for _, n := range OutputFiles {
		ours[n] = true
	}
	for _, e := range entries {
		if !ours[e.Name()] || !e.Type().IsRegular() {
			return fmt.Errorf("--out %s: refusing to replace it: it holds %s, which this command did not write", out, e.Name())
		}
	}
	return nil
}

// writeFile creates path, fills it through a buffer and syncs it, so a
// crash cannot leave a renamed directory with truncated files.
func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
