package data

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Input formats, as reported in stats.json.
const (
	FormatCSV      = "csv"      // question,answer[,qtype,focus,source] with a header row
	FormatPubMedQA = "pubmedqa" // ori_pqal.json: an object keyed by PubMed ID
)

// LoadOptions tunes how inputs become rows.
type LoadOptions struct {
	// PubMedQAContext puts PubMedQA's abstract (CONTEXTS) into Row.Context.
	PubMedQAContext bool
}

// InputName is the name a file contributes to its rows' IDs: the base name
// without ".gz" and the format extension. "files/medquad_qa.csv.gz" → "medquad_qa".
func InputName(path string) string {
	base := filepath.Base(path)
	base = strings.TrimSuffix(base, ".gz")
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// FormatOf picks the loader from the file name: .csv or .json, each
// optionally followed by .gz.
func FormatOf(path string) (string, error) {
	name := strings.TrimSuffix(strings.ToLower(filepath.Base(path)), ".gz")
	switch filepath.Ext(name) {
	case ".csv":
		return FormatCSV, nil
	case ".json":
		return FormatPubMedQA, nil
	}
	return "", fmt.Errorf("%s: unknown input format: want .csv or .json (optionally .gz)", path)
}

// Load reads one input file, uncompressing it when its name ends in .gz.
// Every error names the file and, where there is one, the line or JSON path.
func Load(path string, opt LoadOptions) ([]Row, string, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err // *PathError already names the file
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<16)
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, "", fmt.Errorf("%s: not gzip data: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	var rows []Row
	switch format {
	case FormatCSV:
		rows, err = loadCSV(path, r)
	case FormatPubMedQA:
		rows, err = loadPubMedQA(path, r, opt)
	}
	if err != nil {
		return nil, "", err
	}
	return rows, format, nil
}

// readAll reads r, naming the file in any error (a truncated gzip stream
// surfaces here).
func readAll(path string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}
