package retrieve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// ReadJSONL reads passages, one JSON object per line (the format of
// files/medquad_kb.jsonl.gz once decompressed). Errors name the line.
func ReadJSONL(r io.Reader) ([]Passage, error) {
	var out []Passage
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var p Passage
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		if p.Question == "" || p.Answer == "" {
			return nil, fmt.Errorf("line %d: passage %q lacks a question or an answer", line, p.ID)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %v", line+1, err)
	}
	return out, nil
}

// Organisations are the NIH and CDC sites behind MedQuAD's source codes.
var Organisations = map[string]string{
	"CancerGov":         "National Cancer Institute",
	"GARD":              "Genetic and Rare Diseases Information Center",
	"GHR":               "Genetics Home Reference (NLM)",
	"MPlusHealthTopics": "MedlinePlus (NLM)",
	"NIDDK":             "National Institute of Diabetes and Digestive and Kidney Diseases",
	"NINDS":             "National Institute of Neurological Disorders and Stroke",
	"NIHSeniorHealth":   "NIHSeniorHealth (NIA/NLM)",
	"NHLBI":             "National Heart, Lung, and Blood Institute",
	"CDC":               "Centers for Disease Control and Prevention",
}

// Organisation names the site of a source code, or returns the code.
func Organisation(source string) string {
	if o, ok := Organisations[source]; ok {
		return o
	}
	return source
}
