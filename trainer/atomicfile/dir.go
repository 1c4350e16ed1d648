package atomicfile

import (
	"errors"
	"os"
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
