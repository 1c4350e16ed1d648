//go:build !unix

package main

import "time"

// cpuTime is unavailable here; the CPU figures then read as 0.
func cpuTime() time.Duration { return 0 }
