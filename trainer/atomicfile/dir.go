package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// ReplaceDir publishes tmp, a fully written directory beside dir, as dir.
// An existing dir is first moved aside and removed only once tmp is in
// place, so a failure at any point leaves either the old directory or the
// new one, never neither.
func ReplaceDir(tmp, dir string) error {
	old := tmp + ".old"
	hadOld := true
	if err := os.Rename(dir, old); errors.Is(err, os.ErrNotExist) {
		hadOld = false
	} else if err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if hadOld {
			os.Rename(old, dir)
		}
		return err
	}
	if hadOld {
		return os.RemoveAll(old)
	}
	return nil
}

// TempDir creates an empty directory beside dir (making dir's parents as
// needed) for a caller to fill and then publish with ReplaceDir. It is
// made 0755, the mode dir will have, rather than MkdirTemp's 0700.
func TempDir(dir string) (string, error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// PublishDir gives the tree in tmp the modes of published files, 0755 for folders and
// 0644 for files (temporary ones are created private), then replaces dir with it
// (ReplaceDir). Checkpoints, adapters and model directories are published this way.
func PublishDir(tmp, dir string) error {
	if err := filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	}); err != nil {
		return err
	}
	return ReplaceDir(tmp, dir)
}
