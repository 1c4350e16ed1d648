package torch

/*
#include <stdlib.h>
#include "shim/shim.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"time"
	"unsafe"
)

// DistBackends lists the c10d backends compiled into the loaded shim ("gloo", "nccl"): build.sh
// compiles each one whose headers it finds.
func DistBackends() ([]string, error) {
	var out *C.char
	if err := take(C.tt_dist_backends(&out)); err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(out))
	return strings.Fields(C.GoString(out)), nil
}

// InitProcessGroup joins this process to a group of world processes as rank: rank 0 hosts a c10d
// TCPStore at addr:port, the others connect to it, then backend ("gloo" or "nccl") connects them all.
// It fails after timeout if a rank does not show up, and every later collective fails after timeout
// too (a peer that died usually fails it at once: its sockets close). One group per process.
//
// agentPrefix is "" when rank 0 is to host the store. Under torchrun's static rendezvous (environment
// TORCHELASTIC_USE_AGENT_STORE=True) the launcher's agent hosts it at addr:port instead: then pass
// "/worker/attempt_" + TORCHELASTIC_RESTART_COUNT, the prefix torch.distributed uses there.
func InitProcessGroup(backend, addr string, port, rank, world int, agentPrefix string, timeout time.Duration) error {
	cb, ca, cp := C.CString(backend), C.CString(addr), C.CString(agentPrefix)
	defer C.free(unsafe.Pointer(cb))
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(cp))
	if err := take(C.tt_dist_init(cb, ca, C.int(port), C.int(rank), C.int(world), cp, C.int64_t(timeout.Milliseconds()))); err != nil {
		return fmt.Errorf("joining the %s process group at %s:%d as rank %d of %d: %w", backend, addr, port, rank, world, err)
	}
	return nil
}

// AllReduce replaces the contiguous tensor t with the sum of every rank's t.
func AllReduce(t *Tensor) (err error) {
	defer Recover(&err)
	return take(C.tt_dist_allreduce(t.handle()))
}

// AllReduceGrads sums the gradients of params over the ranks in flat float32 buckets of at most
// bucketNumel elements (<= 0: one bucket) and writes the sums back; a parameter without a gradient
// contributes zeros and gets one. extra (nil, or a contiguous float32 tensor on the same device) is
// summed in the first bucket.
func AllReduceGrads(params []*Tensor, extra *Tensor, bucketNumel int64) (err error) {
	defer Recover(&err)
	var e C.tt
	if extra != nil {
		e = extra.handle()
	}
	var p *C.tt
	hs := handles(params)
	if len(hs) > 0 {
		p = (*C.tt)(unsafe.Pointer(&hs[0]))
	}
	return take(C.tt_dist_allreduce_grads(p, C.int(len(hs)), e, C.int64_t(bucketNumel)))
}

// Barrier returns when every rank has called it (or fails after the group's timeout).
func Barrier() error { return take(C.tt_dist_barrier()) }

// DestroyProcessGroup leaves the group; rank 0's store closes with it.
func DestroyProcessGroup() error { return take(C.tt_dist_destroy()) }
