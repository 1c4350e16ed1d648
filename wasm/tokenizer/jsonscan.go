package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeTokenizerJSON fills f from tokenizer.json. model.vocab and
// model.merges, nearly all of the file, are read by a small hand-written
// scanner whose strings point into one copy of the file; encoding/json
// would spend most of a second on them. The rest goes through
// encoding/json.
func decodeTokenizerJSON(data []byte, f *fileJSON) (merges [][2]string, err error) {
	s := &scanner{data: string(data)}
	top := map[string]json.RawMessage{}
	model := map[string]json.RawMessage{}
	err = s.object(func(key string) error {
		if key != "model" {
			raw, err := s.skip()
			top[key] = raw
			return err
		}
		return s.object(func(key string) error {
			var err error
			switch key {
			case "vocab":
				f.Model.Vocab, err = s.vocab()
			case "merges":
				merges, err = s.merges()
			default:
				model[key], err = s.skip()
			}
			return err
		})
	})
	if err == nil {
		if s.ws(); s.pos != len(s.data) {
			err = s.errorf("data after the top-level object")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	// The small parts, re-assembled for encoding/json.
	if raw, err := json.Marshal(top); err != nil || json.Unmarshal(raw, f) != nil {
		return nil, fmt.Errorf("tokenizer.json: %v", json.Unmarshal(raw, f))
	}
	vocab := f.Model.Vocab
	if raw, err := json.Marshal(model); err != nil || json.Unmarshal(raw, &f.Model) != nil {
		return nil, fmt.Errorf("tokenizer.json: model: %v", json.Unmarshal(raw, &f.Model))
	}
	f.Model.Vocab = vocab
	if vocab == nil || merges == nil {
		return nil, fmt.Errorf("tokenizer.json: model.vocab or model.merges is missing")
	}
	return merges, nil
}

type scanner struct {
	data string
	pos  int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte without consuming it
// (0 at the end).
func (s *scanner) next() byte {
	s.ws()
	if s.pos == len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *scanner) expect(c byte) error {
	if s.next() != c {
		return s.errorf("want %q", c)
	}
	s.pos++
	return nil
}

// str reads a string. Without escapes it is a substring of the file.
func (s *scanner) str() (string, error) {
	if err := s.expect('"'); err != nil {
		return "", err
	}
	start := s.pos
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == '"':
			s.pos++
			return s.data[start : s.pos-1], nil
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return "", s.errorf("control character in string")
		}
		s.pos++
	}
	return "", s.errorf("unterminated string")
}

// escaped finishes a string that holds escapes, from its start.
func (s *scanner) escaped(start int) (string, error) {
	var b strings.Builder
	b.WriteString(s.data[start:s.pos])
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return b.String(), nil
		case c < 0x20:
			return "", s.errorf("control character in string")
		case c != '\\':
			b.WriteByte(c)
			s.pos++
			continue
		}
		if s.pos+1 >= len(s.data) {
			break
		}
		e := s.data[s.pos+1]
		s.pos += 2
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, err := s.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if strings.HasPrefix(s.data[s.pos:], `\u`) {
					s.pos += 2
					if r2, err = s.hex4(); err != nil {
						return "", err
					}
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError && r2 >= 0 && !utf16.IsSurrogate(r2) {
					b.WriteRune(utf8.RuneError) // a lone high surrogate, then an ordinary escape
					r = r2
				}
			}
			b.WriteRune(r)
		default:
			return "", s.errorf("bad escape \\%c", e)
		}
	}
	return "", s.errorf("unterminated string")
}

func (s *scanner) hex4() (rune, error) {
	if s.pos+4 > len(s.data) {
		return 0, s.errorf("short \\u escape")
	}
	v, err := strconv.ParseUint(s.data[s.pos:s.pos+4], 16, 16)
	if err != nil {
		return 0, s.errorf("bad \\u escape")
	}
	s.pos += 4
	return rune(v), nil
}

// object reads {"key": value, ...}, calling fn at each value.
func (s *scanner) object(fn func(key string) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.next() == '}' {
		s.pos++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch s.next() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorf("want , or } in object")
		}
	}
}

// array reads [value, ...], calling fn at each value.
func (s *scanner) array(fn func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.next() == ']' {
		s.pos++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch s.next() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.errorf("want , or ] in array")
		}
	}
}

// skip reads any value and returns its text for encoding/json.
func (s *scanner) skip() (json.RawMessage, error) {
	start := s.next()
	from := s.pos
	var err error
	switch {
	case start == '{':
		err = s.object(func(string) error { _, err := s.skip(); return err })
	case start == '[':
		err = s.array(func() error { _, err := s.skip(); return err })
	case start == '"':
		_, err = s.str()
	default: // a number or a literal; encoding/json checks it later
		for s.pos < len(s.data) && strings.IndexByte(" \t\r\n,]}", s.data[s.pos]) < 0 {
			s.pos++
		}
		if s.pos == from {
			err = s.errorf("want a value")
		}
	}
	return json.RawMessage(s.data[from:s.pos]), err
}

// sizeHint guesses the number of vocabulary entries or merges from the
// file's size: tokenizer.json spends about 46 bytes per token on the two.
func (s *scanner) sizeHint() int { return len(s.data) / 48 }

// vocab reads {"token": id, ...}.
func (s *scanner) vocab() (map[string]int32, error) {
	v := make(map[string]int32, s.sizeHint())
	err := s.object(func(key string) error {
		s.ws()
		start := s.pos
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
		}
		id, err := strconv.ParseInt(s.data[start:s.pos], 10, 32)
		if err != nil {
			return s.errorf("model.vocab[%q]: want a non-negative id", key)
		}
		if _, dup := v[key]; dup {
			return s.errorf("model.vocab: %q appears twice", key)
		}
		v[key] = int32(id)
		return nil
	})
	return v, err
}

// merges reads ["a b", ...] or [["a", "b"], ...].
func (s *scanner) merges() ([][2]string, error) {
	out := make([][2]string, 0, s.sizeHint())
	err := s.array(func() error {
		var m [2]string
		if s.next() == '[' {
			i := 0
			err := s.array(func() error {
				if i == 2 {
					return s.errorf("model.merges[%d]: want two tokens", len(out))
				}
				var err error
				m[i], err = s.str()
				i++
				return err
			})
			if err == nil && i != 2 {
				err = s.errorf("model.merges[%d]: want two tokens", len(out))
			}
			if err != nil {
				return err
			}
		} else {
			line, err := s.str()
			if err != nil {
				return err
			}
			a, b, ok := strings.Cut(line, " ")
			if !ok || strings.Contains(b, " ") {
				return s.errorf("model.merges[%d]: want two tokens separated by one space, got %q", len(out), line)
			}
			m = [2]string{a, b}
		}
		out = append(out, m)
		return nil
	})
	return out, err
}
