package torch

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
char* tt_load(const char* path, const char* want_sha256);
void tt_set_not_loaded(const char* why);
*/
import "C"

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"
)

// ShimEnv names the environment variable that points at libmedqa_torch.so, the libtorch shim that this
// package loads at run time; ShimFile is its file name. The Go build never sees libtorch: the shim is
// built separately (`make shim`, or shim/build.sh against any libtorch) and found, in this order, at
// $MEDQA_TORCH_SHIM, beside the executable, or in bin/ of the repository the binary was built from or
// that the working directory is in (which is how `go test` and `go run` find `make shim`'s output).
const (
	ShimEnv  = "MEDQA_TORCH_SHIM"
	ShimFile = "libmedqa_torch.so"
)

// The shim's sources, hashed as build.sh hashes them (name order, concatenated): a library built from
// other sources is refused, so a stale bin/libmedqa_torch.so never runs behind new Go code.
//
//go:embed shim/*.cc shim/*.h shim/*.def
var shimSources embed.FS

var loadErr error

func init() {
	tuneMalloc()
	if loadErr = load(); loadErr != nil {
		why := C.CString(loadErr.Error())
		C.tt_set_not_loaded(why)
		C.free(unsafe.Pointer(why))
		return
	}
	SetNumThreads(runtime.NumCPU())
}

// Loaded is nil when the shim is loaded, else why not: which places were looked in, or why the library
// found could not be used. Without it any tensor operation stops the process with that message;
// commands that need libtorch can check Loaded first to fail with an ordinary error.
func Loaded() error { return loadErr }

// ShimSHA256 is the hash of the shim sources this binary was built with.
func ShimSHA256() string {
	h := sha256.New()
	entries, err := fs.ReadDir(shimSources, "shim")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	for _, e := range entries { // sorted by name, as build.sh's LC_ALL=C sort
		b, err := fs.ReadFile(shimSources, path.Join("shim", e.Name()))
		if err != nil {
			panic(err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func load() error {
	// libgomp (loaded with libtorch, below) reads OMP_WAIT_POLICY once, when it loads. Busy-waiting
	// OpenMP workers cost 1.5–2x on small shared machines, so default to passive unless the user chose.
	if _, ok := os.LookupEnv("OMP_WAIT_POLICY"); !ok {
		os.Setenv("OMP_WAIT_POLICY", "passive")
	}
	places, tried := shimCandidates(), []string{}
	for _, p := range places {
		if p.path == "" {
			tried = append(tried, p.what)
			continue
		}
		if _, err := os.Stat(p.path); err != nil {
			tried = append(tried, p.path+" ("+p.what+": "+errText(err)+")")
			continue
		}
		if err := loadFrom(p.path); err != nil {
			return fmt.Errorf("libtorch shim %s (%s) cannot be used: %w; rebuild it with `make shim` or %s",
				p.path, p.what, err, buildHint)
		}
		return nil
	}
	return fmt.Errorf("libtorch shim %s not found; looked in: %s. Build it with `make shim` or %s",
		ShimFile, strings.Join(tried, ", "), buildHint)
}

// loadFrom loads the shim at path; on failure nothing changes.
func loadFrom(path string) error {
	cpath, csha := C.CString(path), C.CString(ShimSHA256())
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(csha))
	if e := C.tt_load(cpath, csha); e != nil {
		msg := C.GoString(e)
		C.free(unsafe.Pointer(e))
		return errors.New(msg)
	}
	return nil
}

const buildHint = "trainer/torch/shim/build.sh -o DIR/" + ShimFile + " (then set " + ShimEnv + "=DIR/" + ShimFile + ")"

type place struct{ path, what string }

// shimCandidates lists where the shim may be, in order. A set MEDQA_TORCH_SHIM is the only place.
func shimCandidates() []place {
	if p, ok := os.LookupEnv(ShimEnv); ok {
		if p == "" {
			return []place{{"", "$" + ShimEnv + " (set but empty)"}}
		}
		return []place{{p, "$" + ShimEnv}}
	}
	var out []place
	seen := map[string]bool{}
	add := func(p, what string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, place{p, what})
		}
	}
	out = append(out, place{"", "$" + ShimEnv + " (unset)"})
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		add(filepath.Join(filepath.Dir(exe), ShimFile), "beside the executable")
	}
	// The source file's directory, recorded at build time (absent with -trimpath): the repository the
	// binary was built from, wherever it runs from.
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		add(filepath.Join(filepath.Dir(file), "..", "..", "bin", ShimFile), "the build's repository")
	}
	if root := repoRoot(); root != "" {
		add(filepath.Join(root, "bin", ShimFile), "the working directory's repository")
	}
	for i := range out {
		if out[i].path != "" {
			out[i].path = filepath.Clean(out[i].path)
		}
	}
	return out
}

// repoRoot is the nearest directory at or above the working directory whose go.mod declares module medqa.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == "medqa" {
					return dir
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func errText(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file"
	}
	return err.Error()
}
