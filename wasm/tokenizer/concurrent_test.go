package tokenizer

import (
	"slices"
	"sync"
	"testing"
)

// The word cache is shared: concurrent encoders must each get the same ids
// as a lone one (run with -race to check the memory model too).
func TestConcurrentEncode(t *testing.T) {
	tok, v := qwen(t), loadVectors(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := range v.Encodings {
				e := v.Encodings[(i*7+g*13)%len(v.Encodings)]
				if got := tok.Encode(e.Text); !slices.Equal(got, e.IDs) {
					t.Errorf("goroutine %d: %q: got %v", g, e.Text, got)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}
