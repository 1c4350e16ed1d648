package torch

import (
	"errors"
	"strings"
	"testing"

	"strconv"
)

func TestParseRuntime(t *testing.T) {
	n := CUDADeviceCount()
	dt, dev, err := ParseRuntime("bfloat16", "auto")
	if err != nil || dt != BFloat16 || (n == 0) != (dev == CPU) {
		t.Errorf("bfloat16, auto: %v %v %v (libtorch sees %d CUDA devices)", dt, dev, err, n)
	}
	missing := "cuda:" + strconv.Itoa(n) // one past the last device libtorch sees
	for _, tc := range []struct{ dtype, device, setting, says string }{
		{"bf8", "cpu", "dtype", `unknown dtype "bf8"`},
		{"f32", "gpu", "device", `unknown device "gpu"`},
		{"f32", "cuda:-1", "device", `unknown device "cuda:-1"`},
		{"f32", missing, "device", "libtorch sees"},
	} {
		_, _, err := ParseRuntime(tc.dtype, tc.device)
		var re *RuntimeError
		if !errors.As(err, &re) || re.Setting != tc.setting || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s, %s: %v, want a %s error saying %q", tc.dtype, tc.device, err, tc.setting, tc.says)
		}
	}
}
