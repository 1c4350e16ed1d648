// Package torch is medqa's thin binding to libtorch (ATen) through a small C++ shim.
//
// Lifetime: every *Tensor owns a libtorch handle. Free it with Close, or create it
// in a Scope (every op takes one as its first argument; nil means the caller owns
// the result) and Close the scope. A cleanup frees forgotten tensors when the Go
// garbage collector finds them, but that is a safety net, not a plan.
//
// Errors: libtorch errors come back from the shim as strings and become *Error.
// Ops panic with *Error so model code reads like math; API boundaries convert the
// panic into an ordinary error with `defer torch.Recover(&err)`.
//
// Threads: grad mode and OpenMP thread teams belong to the OS thread, so the
// goroutine that drives torch should call runtime.LockOSThread (NoGrad does so
// for its duration). OMP_WAIT_POLICY=passive must be in the environment before the
// process starts (see ReexecWithOMPPassive).
package torch

/*
#cgo CXXFLAGS: -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1 -O2 -I/usr/include/torch/csrc/api/include -Wno-deprecated-declarations
#cgo LDFLAGS: -ltorch -ltorch_cpu -lc10
#include <stdlib.h>
#include "shim.h"
#ifdef __GLIBC__
#include <malloc.h>
// Tensors of a few MB to tens of MB are allocated and freed for every op of a
// long prompt. By default glibc maps each such block fresh and unmaps it on
// free, so every op page-faults its output in again. Serving them from the
// heap, and not trimming it below 512 MiB, reuses the pages: a 512-token
// prefill of Qwen2.5-0.5B (f32) took 159k minor page faults instead of 225k
// (25k of them loading the weights), and about half the kernel time.
static void tune_malloc(void) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}
#else
static void tune_malloc(void) {}
#endif
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// Error is a failure reported by libtorch (or by the binding's own checks).
type Error struct{ Msg string }

func (e *Error) Error() string { return "torch: " + e.Msg }

// take converts a shim error into a Go error and frees the C string.
func take(e C.tt_err) error {
	if e == nil {
		return nil
	}
	msg := C.GoString(e)
	C.free(unsafe.Pointer(e))
	return &Error{Msg: strings.TrimSpace(msg)}
}

// must panics with the *Error from a shim call; Recover turns it back into an error.
func must(e C.tt_err) {
	if err := take(e); err != nil {
		panic(err)
	}
}

// Recover converts a panic carrying a *torch.Error into *err, and re-panics on
// anything else: `defer torch.Recover(&err)` at every API boundary.
func Recover(err *error) {
	if r := recover(); r != nil {
		var te *Error
		if e, ok := r.(error); ok && errors.As(e, &te) {
			*err = e
			return
		}
		panic(r)
	}
}

// Do runs fn and returns the *torch.Error it panicked with, if any.
func Do(fn func()) (err error) {
	defer Recover(&err)
	fn()
	return nil
}

func init() {
	C.tune_malloc()
	SetNumThreads(runtime.NumCPU())
}

// SetNumThreads sets libtorch's intra-op thread count for every OS thread that
// calls into the shim afterwards (default: all cores).
func SetNumThreads(n int) {
	if n < 1 {
		n = 1
	}
	if err := take(C.tt_set_num_threads(C.int(n))); err != nil {
		panic(err)
	}
}

// NumThreads reports libtorch's intra-op thread count on the calling thread.
func NumThreads() int { return int(C.tt_get_num_threads()) }

// ManualSeed seeds libtorch's CPU and CUDA generators (randn, dropout, multinomial).
func ManualSeed(seed uint64) { must(C.tt_manual_seed(C.uint64_t(seed))) }

// CUDADeviceCount is 0 on CPU-only builds.
func CUDADeviceCount() int { return int(C.tt_cuda_device_count()) }

// Version returns the libtorch version and its build configuration (at::show_config).
func Version() string {
	var s *C.char
	must(C.tt_version(&s))
	defer C.free(unsafe.Pointer(s))
	return C.GoString(s)
}

// BLAS names the BLAS that libtorch's matrix products run on: "openblas",
// "reference" (Debian's netlib fallback, ~35x slower), "mkl" or "unknown", with
// the library path or build-config line it was read from.
func BLAS() string {
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		for _, line := range strings.Split(string(maps), "\n") {
			f := strings.Fields(line)
			if len(f) < 6 {
				continue
			}
			path := f[len(f)-1]
			base := path[strings.LastIndex(path, "/")+1:]
			switch {
			case strings.Contains(base, "openblas") || (strings.HasPrefix(base, "libblas.so") && strings.Contains(path, "openblas")):
				return "openblas (" + path + ")"
			case strings.Contains(base, "libmkl"):
				return "mkl (" + path + ")"
			case strings.HasPrefix(base, "libblas.so"):
				return "reference (" + path + ")"
			}
		}
	}
	for _, line := range strings.Split(Version(), "\n") {
		if i := strings.Index(line, "BLAS_INFO="); i >= 0 {
			v := strings.TrimSpace(line[i+len("BLAS_INFO="):])
			if j := strings.IndexByte(v, ','); j >= 0 {
				v = v[:j]
			}
			return v + " (at::show_config)"
		}
	}
	return "unknown"
}

// GradEnabled reports the calling OS thread's grad mode.
func GradEnabled() bool { return C.tt_grad_enabled() != 0 }

// SetGradEnabled sets the calling OS thread's grad mode and returns the previous one.
// Lock the goroutine to its thread (runtime.LockOSThread) around its use.
func SetGradEnabled(on bool) bool { return C.tt_set_grad_enabled(cbool(on)) != 0 }

// NoGrad runs fn with autograd recording off, on one locked OS thread.
func NoGrad(fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev := SetGradEnabled(false)
	defer SetGradEnabled(prev)
	fn()
}

// ReexecWithOMPPassive re-executes the running binary with OMP_WAIT_POLICY=passive
// when it is unset: libgomp reads it once at load, and busy-waiting OpenMP workers
// cost 1.5–2x on small machines. Call it first thing in main or a CLI verb; it
// returns only when no re-exec was needed (or possible).
func ReexecWithOMPPassive() {
	if _, ok := os.LookupEnv("OMP_WAIT_POLICY"); ok || testing.Testing() {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), "OMP_WAIT_POLICY=passive")
	err = syscall.Exec(exe, os.Args, env)
	fmt.Fprintf(os.Stderr, "torch: re-exec with OMP_WAIT_POLICY=passive failed: %v\n", err)
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
