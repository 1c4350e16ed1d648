package tokenizer

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"medqa/files/testkit"
)

// equalTables compares everything a Tokenizer runs on.
func equalTables(t *testing.T, a, b *Tokenizer) {
	t.Helper()
	if !slices.Equal(a.tokBytes, b.tokBytes) || !slices.Equal(a.tokOff, b.tokOff) || a.byteID != b.byteID ||
		!slices.Equal(a.merges.all(), b.merges.all()) || a.special != b.special || a.nfc != b.nfc ||
		a.cleanUp != b.cleanUp || a.ignoreMerges != b.ignoreMerges || len(a.addedList) != len(b.addedList) {
		t.Fatal("tables differ")
	}
	for i := range a.addedList {
		if *a.addedList[i] != *b.addedList[i] {
			t.Fatalf("added token %d: %+v vs %+v", i, *a.addedList[i], *b.addedList[i])
		}
	}
}

// The shipped tokenizer.bin.gz is MarshalBinary of the shipped
// tokenizer.json.gz, byte for byte: regenerate it with
// `go run ./trainer tokenize --tokenizer DIR --save-binary FILE` when this fails.
func TestShippedBinaryIsCurrent(t *testing.T) {
	dir := shippedDir(t)
	cfg, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := Parse(testkit.ReadFile(t, filepath.Join(dir, "tokenizer.json.gz")), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fromJSON.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	shipped := testkit.ReadFile(t, filepath.Join(dir, "tokenizer.bin.gz"))
	if !bytes.Equal(shipped, want) {
		t.Fatal("assets/tokenizer/qwen2.5/tokenizer.bin.gz is stale")
	}
	fromBin, err := ParseBinary(shipped, cfg)
	if err != nil {
		t.Fatal(err)
	}
	equalTables(t, fromJSON, fromBin)
	// Without a config the binary's own special ids apply.
	alone, err := ParseBinary(shipped, nil)
	if err != nil || alone.special != fromJSON.special || alone.cleanUp != fromJSON.cleanUp {
		t.Fatalf("binary alone: %+v, %v", alone.special, err)
	}
}

func TestParseBinaryRejectsDamage(t *testing.T) {
	good, err := qwen(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("medqa-bpe 2\n"), good[12:]...),
		"truncated": good[:len(good)/2],
		"trailing":  append(slices.Clip(good), 0),
	} {
		if _, err := ParseBinary(data, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Issue 16: a tiny file whose merges each double a token asked for terabytes. Byte 'a',
// then tokens 1..60, token k merging k-1 with itself (2^k bytes).
func TestParseBinaryBoundsDerivedSizes(t *testing.T) {
	const k = 60
	b := []byte(binaryMagic)
	put := func(v uint64) { b = binary.AppendUvarint(b, v) }
	put(0) // flags
	put(0)
	put(0)
	put(0)     // no EOS, PAD, BOS
	put(k + 1) // tokens
	put(k)     // merges
	for i := range k {
		put(uint64(i))
		put(uint64(i))
		delta := int64(0) // results are stored as previous result + 1 + delta
		if i == 0 {
			delta = 1 // the first result is token 1: -1 + 1 + 1
		}
		b = binary.AppendVarint(b, delta)
	}
	put(3)
	b = append(b, 'a') // token 0: the literal "a"
	for range k {
		put(0) // derived
	}
	put(0) // no added tokens
	if len(b) > 300 {
		t.Fatalf("the crafted file is %d bytes", len(b))
	}
	if _, err := ParseBinary(b, nil); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("ParseBinary: %v, want a size-limit error", err)
	}
}
