package torch

/*
#include <stdlib.h>
#include "shim/shim.h"
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
	"os"
	"runtime"
	"strings"
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

// tuneMalloc applies the allocator setting above; load.go's init calls it first.
func tuneMalloc() { C.tune_malloc() }

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

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
