package torch

// RuntimeError is a dtype or device setting that ParseRuntime refuses. Setting is "dtype"
// or "device", for the caller to name the flag or variable it came from.
type RuntimeError struct {
	Setting string
	Err     error
}

func (e *RuntimeError) Error() string { return e.Setting + ": " + e.Err.Error() }

func (e *RuntimeError) Unwrap() error { return e.Err }

// ParseRuntime reads the dtype and device a model runs in (ParseDType, ParseDevice): the one
// parser of these settings for the trainer's verbs and the server. The error is a
// *RuntimeError.
func ParseRuntime(dtype, device string) (DType, Device, error) {
	dt, err := ParseDType(dtype)
	if err != nil {
		return 0, CPU, &RuntimeError{"dtype", err}
	}
	dev, err := ParseDevice(device)
	if err != nil {
		return 0, CPU, &RuntimeError{"device", err}
	}
	return dt, dev, nil
}
