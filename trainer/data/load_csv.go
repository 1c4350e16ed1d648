package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// csvColumns are the header names a CSV may use. question and answer are
// required; the MedQuAD export adds qtype, focus and source. Other columns
// are ignored, so a CSV with, say, an id column still loads.
var csvColumns = []string{"question", "answer", "qtype", "focus", "source"}

// loadCSV reads a question/answer CSV (RFC 4180, header row first). A row
// without a qtype gets one inferred from its question pattern, and its
// focus from the template when one matches; a row without a source gets
// the input's name.
func loadCSV(path string, r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: want a header row with columns question,answer", path)
	}
	if err != nil {
		return nil, csvError(path, err, 0, 0)
	}
	col, err := csvHeader(path, header)
	if err != nil {
		return nil, err
	}
	name := InputName(path)
	var rows []Row
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, csvError(path, err, len(rec), len(header))
		}
		for i, field := range rec {
			if bad := firstInvalidUTF8(field); bad >= 0 {
				line, _ := cr.FieldPos(i)
				line += strings.Count(field[:bad], "\n")
				return nil, fmt.Errorf("%s:%d: column %q: invalid UTF-8 (byte 0x%02x)",
					path, line, columnName(header, i), field[bad])
			}
		}
		get := func(c string) string {
			if i, ok := col[c]; ok {
				return rec[i]
			}
			return ""
		}
		row := Row{
			ID:       name + "-" + strconv.Itoa(n),
			Question: get("question"),
			Answer:   get("answer"),
			QType:    strings.ToLower(strings.Join(strings.Fields(get("qtype")), " ")),
			Focus:    get("focus"),
			Source:   strings.TrimSpace(get("source")),
		}
		if row.QType == "" {
			qtype, focus, _ := InferQType(row.Question)
			row.QType = qtype
			if row.Focus == "" {
				row.Focus = focus
			}
		}
		if row.Source == "" {
			row.Source = name
		}
		rows = append(rows, row)
	}
}

// csvHeader maps the known column names to their indexes.
func csvHeader(path string, header []string) (map[string]int, error) {
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		for _, want := range csvColumns {
			if h != want {
				continue
			}
			if j, dup := col[h]; dup {
				return nil, fmt.Errorf("%s:1: header names column %q twice (columns %d and %d)", path, h, j+1, i+1)
			}
			col[h] = i
		}
	}
	var missing []string
	for _, want := range csvColumns[:2] {
		if _, ok := col[want]; !ok {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s:1: header lacks column(s) %s (header is %q)",
			path, strings.Join(missing, ", "), strings.Join(header, ","))
	}
	return col, nil
}

// csvError names the file and line of a CSV parse error. encoding/csv
// reports an unclosed quote where it gave up, often the end of the file, so
// the error names the line where the record starts and mentions the other.
// got and want are the field counts of the record and header.
func csvError(path string, err error, got, want int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return fmt.Errorf("%s:%d: wrong number of fields: the record has %d, the header has %d", path, pe.StartLine, got, want)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Errorf("%s:%d:%d: unbalanced quotes: a \" inside an unquoted field (quote the field and double the \")",
			path, pe.Line, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Errorf("%s:%d: unbalanced quotes: a quoted field of the record starting on this line is not closed, or holds a lone \" (parser stopped at line %d, column %d)",
			path, pe.StartLine, pe.Line, pe.Column)
	}
	return fmt.Errorf("%s:%d:%d: %v", path, pe.Line, pe.Column, pe.Err)
}

func columnName(header []string, i int) string {
	if i < len(header) {
		return strings.TrimSpace(header[i])
	}
	return "#" + strconv.Itoa(i+1)
}

// firstInvalidUTF8 returns the byte offset of the first invalid UTF-8
// sequence in s, or -1.
func firstInvalidUTF8(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return -1
}
