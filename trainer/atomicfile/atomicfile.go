// Package atomicfile writes a file or a directory so that readers see either
// the old content or the whole new one, never a half-written file: the bytes
// go to a temporary file in the same directory, are synced, and only then
// renamed over the path.
package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile is os.WriteFile made atomic. perm applies to the new file.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
