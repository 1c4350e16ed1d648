package main

import (
	"strings"
	"testing"

	"medqa/trainer/torch"
	"strconv"
)

// The server reads MEDQA_DTYPE and MEDQA_DEVICE as the trainer reads --dtype and --device:
// a CUDA device libtorch cannot see is refused at once, naming the variable.
func TestRunDTypeRefusesMissingCUDA(t *testing.T) {
	t.Setenv("MEDQA_DTYPE", "f32")
	t.Setenv("MEDQA_DEVICE", "cuda:"+strconv.Itoa(torch.CUDADeviceCount()))
	if _, _, err := runDType(); err == nil || !strings.HasPrefix(err.Error(), "MEDQA_DEVICE: ") || !strings.Contains(err.Error(), "libtorch sees") {
		t.Errorf("a missing CUDA device: %v", err)
	}
	t.Setenv("MEDQA_DTYPE", "int3")
	if _, _, err := runDType(); err == nil || !strings.HasPrefix(err.Error(), "MEDQA_DTYPE: ") {
		t.Errorf("a bad dtype: %v", err)
	}
	t.Setenv("MEDQA_DTYPE", "")
	t.Setenv("MEDQA_DEVICE", "")
	if dt, dev, err := runDType(); err != nil || dt != torch.Float32 || dev != torch.CPU {
		t.Errorf("defaults: %v %v %v", dt, dev, err)
	}
}
