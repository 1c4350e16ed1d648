package safetensors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"medqa/trainer/atomicfile"
)

// IndexFile is the name of the index of a sharded checkpoint.
const IndexFile = "model.safetensors.index.json"

// Set is the tensors of a model directory: one model.safetensors, or the shards
// listed by model.safetensors.index.json.
type Set struct {
	Dir   string
	files []*File
	where map[string]*File
}

type index struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// OpenDir opens a model directory's weights, checking that a sharded index and
// its shards agree exactly (every indexed tensor is in its shard, and every shard
// tensor is indexed, once).
func OpenDir(dir string) (*Set, error) {
	set := &Set{Dir: dir, where: map[string]*File{}}
	ipath := filepath.Join(dir, IndexFile)
	raw, err := os.ReadFile(ipath)
	switch {
	case err == nil:
		if err := set.openSharded(ipath, raw); err != nil {
			set.Close()
			return nil, err
		}
		return set, nil
	case !os.IsNotExist(err):
		return nil, err
	}
	single := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(single); err != nil {
		return nil, fmt.Errorf("%s: no model.safetensors or %s", dir, IndexFile)
	}
	f, err := Open(single)
	if err != nil {
		return nil, err
	}
	set.files = []*File{f}
	for _, n := range f.Names() {
		set.where[n] = f
	}
	return set, nil
}

func (set *Set) openSharded(ipath string, raw []byte) error {
	var idx index
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&idx); err != nil {
		return fmt.Errorf("%s: %v", ipath, err)
	}
	if len(idx.WeightMap) == 0 {
		return fmt.Errorf("%s: weight_map is missing or empty", ipath)
	}
	shards := map[string]*File{}
	names := make([]string, 0, len(idx.WeightMap))
	for n := range idx.WeightMap {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		shard := idx.WeightMap[n]
		if shard == "" || strings.ContainsAny(shard, `/\`) || shard == "." || shard == ".." {
			return fmt.Errorf("%s: weight_map[%q] = %q is not a file name in the directory", ipath, n, shard)
		}
		f, ok := shards[shard]
		if !ok {
			var err error
			if f, err = Open(filepath.Join(set.Dir, shard)); err != nil {
				return fmt.Errorf("%s: weight_map[%q]: %w", ipath, n, err)
			}
			shards[shard] = f
			set.files = append(set.files, f)
		}
		if _, ok := f.byName[n]; !ok {
			return fmt.Errorf("%s: tensor %q is indexed in %s, which does not contain it", ipath, n, shard)
		}
		set.where[n] = f
	}
	for shard, f := range shards {
		for _, n := range f.Names() {
			if set.where[n] != f {
				return fmt.Errorf("%s: tensor %q in shard %s is not indexed there", ipath, n, shard)
			}
		}
	}
	return nil
}

// Names lists every tensor in name order.
func (set *Set) Names() []string {
	ns := make([]string, 0, len(set.where))
	for n := range set.where {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Tensor returns the named tensor; Data aliases the mapped file until Close.
func (set *Set) Tensor(name string) (Tensor, error) {
	f, ok := set.where[name]
	if !ok {
		return Tensor{}, fmt.Errorf("%s: no tensor %q", set.Dir, name)
	}
	return f.Tensor(name)
}

// Path is the file that holds the named tensor ("" when none does).
func (set *Set) Path(name string) string {
	if f, ok := set.where[name]; ok {
		return f.Path
	}
	return ""
}

// Close unmaps every file.
func (set *Set) Close() error {
	var first error
	for _, f := range set.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	set.files = nil
	return first
}

// WriteDir writes tensors into dir as model.safetensors, or, when their data
// exceeds maxShardBytes (> 0), as model-0000i-of-0000n.safetensors shards plus
// model.safetensors.index.json, in name order. Each file is written atomically;
// to publish a whole directory atomically, write it under a temporary name and
// rename it.
func WriteDir(dir string, tensors []Tensor, metadata map[string]string, maxShardBytes int64) error {
	ts := append([]Tensor(nil), tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	var total int64
	for _, t := range ts {
		total += int64(len(t.Data))
	}
	if maxShardBytes <= 0 || total <= maxShardBytes {
		return Write(filepath.Join(dir, "model.safetensors"), ts, metadata)
	}
	var shards [][]Tensor
	var size int64
	for _, t := range ts {
		if len(shards) == 0 || (size > 0 && size+int64(len(t.Data)) > maxShardBytes) {
			shards = append(shards, nil)
			size = 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], t)
		size += int64(len(t.Data))
	}
	idx := index{Metadata: map[string]any{"total_size": total}, WeightMap: map[string]string{}}
	for i, sh := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		if err := Write(filepath.Join(dir, name), sh, metadata); err != nil {
			return err
		}
		for _, t := range sh {
			idx.WeightMap[t.Name] = name
		}
	}
	raw, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, IndexFile), append(raw, '\n'), 0o644)
}
