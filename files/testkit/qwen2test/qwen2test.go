// Package qwen2test makes the random-weight Qwen2 models that medqa's tests
// and benchmarks run on, from the shapes in files/testkit. It needs libtorch
// (it builds trainer/qwen2 models), so it is apart from files/testkit, which
// the pure-Go packages' tests import.
package qwen2test

import (
	"path/filepath"
	"testing"

	"medqa/files/testkit"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// Config is the qwen2.Config of a shape, read from its config.json as a
// checkpoint's would be. A shape qwen2 refuses panics: it is a mistake in
// the test, not a condition to handle.
func Config(s testkit.Shape) qwen2.Config {
	c, err := qwen2.ParseConfig("test shape", s.ConfigJSON())
	if err != nil {
		panic(err)
	}
	return c
}

// New returns a random f32 model on the CPU (qwen2.NewRandom: the same seed
// gives the same weights), closed when the test ends.
func New(t testing.TB, c qwen2.Config, seed uint64) *qwen2.Model {
	t.Helper()
	m, err := qwen2.NewRandom(c, seed, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// Write saves a random f32 model as a Hugging Face directory (config.json,
// model.safetensors) in a new folder under t.TempDir() and returns its path.
// edit, when given, changes the model before it is saved.
func Write(t testing.TB, c qwen2.Config, seed uint64, edit ...func(*qwen2.Model)) string {
	t.Helper()
	m, err := qwen2.NewRandom(c, seed, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, f := range edit {
		f(m)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}
