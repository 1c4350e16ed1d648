package gpucheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// Obj is a JSON object that keeps its keys in the order they were set ("ok" first), so that the
// report reads the same on every run; encoding/json would sort a map's keys.
type Obj struct {
	keys []string
	vals map[string]any
}

// Set sets key to v, appending key if it is new.
func (o *Obj) Set(key string, v any) *Obj {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
	return o
}

// First sets key to v and moves it to the front.
func (o *Obj) First(key string, v any) *Obj {
	o.Set(key, v)
	o.keys = append([]string{key}, slices.DeleteFunc(o.keys, func(k string) bool { return k == key })...)
	return o
}

// Get returns key's value and whether it is set.
func (o *Obj) Get(key string) (any, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// MarshalJSON writes the keys in order.
func (o *Obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object keeping its key order (values stay json.RawMessage).
func (o *Obj) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil {
		return err
	} else if t != json.Delim('{') {
		return fmt.Errorf("want a JSON object, got %v", t)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		o.Set(t.(string), v)
	}
	_, err := dec.Token() // }
	return err
}

// round keeps d decimals (figures, not measurements of precision); NaN and ±Inf become nil (null).
func round(x float64, d int) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	p := math.Pow(10, float64(d))
	return math.Round(x*p) / p
}

// sig keeps 3 significant digits, for errors that span many decades.
func sig(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	if x == 0 {
		return 0.0
	}
	e := math.Floor(math.Log10(math.Abs(x)))
	p := math.Pow(10, 2-e)
	return math.Round(x*p) / p
}
