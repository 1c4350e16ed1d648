package safetensors

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// File is one opened, validated safetensors file. Its tensors' Data alias the
// file's memory map until Close.
type File struct {
	Path     string
	Metadata map[string]string
	tensors  []Tensor // by offset
	byName   map[string]int
	unmap    func() error
}

// Open maps and validates path.
func Open(path string) (*File, error) {
	buf, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f, err := newFile(path, buf)
	if err != nil {
		unmap()
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// Parse validates an in-memory file image (name is used in errors).
func Parse(name string, buf []byte) (*File, error) { return newFile(name, buf) }

func newFile(path string, buf []byte) (*File, error) {
	ts, meta, err := parse(buf)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	f := &File{Path: path, Metadata: meta, tensors: ts, byName: make(map[string]int, len(ts))}
	for i, t := range ts {
		f.byName[t.Name] = i
	}
	return f, nil
}

// Names lists the tensors in name order.
func (f *File) Names() []string {
	ns := make([]string, 0, len(f.tensors))
	for _, t := range f.tensors {
		ns = append(ns, t.Name)
	}
	sort.Strings(ns)
	return ns
}

// Tensor returns the named tensor; Data aliases the file until Close.
func (f *File) Tensor(name string) (Tensor, error) {
	i, ok := f.byName[name]
	if !ok {
		return Tensor{}, fmt.Errorf("safetensors %s: no tensor %q", f.Path, name)
	}
	return f.tensors[i], nil
}

// Close releases the memory map; tensors read from f must not be used afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	return u()
}

// Write stores tensors (sorted by name) and optional metadata at path, atomically:
// the bytes go to a temporary file in the same directory that is renamed into
// place only once complete and synced.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := Encode(w, tensors, metadata); err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	ok = true
	return nil
}
