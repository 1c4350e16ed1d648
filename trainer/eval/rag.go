package eval

import (
	"strings"
	"unicode"

	"medqa/wasm/chat"
	"medqa/wasm/retrieve"
)

// RAGTopK is how many passages a RAG prompt holds (and recall@k's k).
const RAGTopK = retrieve.DefaultK

// RAG retrieves passages for evaluation prompts from the training split
// only: no test answer is ever retrievable. Passages whose answer text equals
// an evaluated row's reference are dropped as well, since MedQuAD repeats
// answers under different questions (GARD and GHR share many).
type RAG struct {
	KB       []retrieve.Passage
	Index    *retrieve.Index
	Excluded int // training passages dropped because their answer is an evaluated reference
}

// NewRAG indexes the train split of dir, leaving out answers of eval.
func NewRAG(dir string, eval []Row) (*RAG, error) {
	train, err := ReadSplit(dir, "train", 0)
	if err != nil {
		return nil, err
	}
	refs := map[string]bool{}
	for _, r := range eval {
		refs[r.Reference()] = true
	}
	g := &RAG{}
	for _, r := range train {
		if refs[r.Reference()] {
			g.Excluded++
			continue
		}
		g.KB = append(g.KB, RowPassage(r))
	}
	g.Index = retrieve.NewIndex(g.KB, retrieve.DefaultParams)
	return g, nil
}

// RowPassage is a split row as a retrieval passage.
func RowPassage(r Row) retrieve.Passage {
	return retrieve.Passage{ID: r.ID, Question: r.Question, Answer: r.Reference(), Focus: r.Focus, QType: r.QType, Source: r.Source}
}

// Augment returns rows whose last user turn is retrieve.Augment of the
// question with the top RAGTopK passages, and retrieval recall@RAGTopK: the
// percentage of rows with a passage of the same focus (case-insensitive)
// among them; rows without a focus count as misses.
func (g *RAG) Augment(rows []Row) ([]Row, float64) {
	out := make([]Row, len(rows))
	found := 0
	for i, r := range rows {
		hits := g.Index.Search(r.Question, RAGTopK)
		ps := make([]retrieve.Passage, len(hits))
		hit := false
		for j, h := range hits {
			ps[j] = g.KB[h.Doc]
			hit = hit || (r.Focus != "" && strings.EqualFold(ps[j].Focus, r.Focus))
		}
		if hit {
			found++
		}
		msgs := append([]chat.Message(nil), r.Messages...)
		last := len(msgs) - 2 // the user turn before the answer
		msgs[last].Content = retrieve.Augment(msgs[last].Content, ps)
		r.Messages = msgs
		out[i] = r
	}
	return out, 100 * float64(found) / float64(max(len(rows), 1))
}

// GeneSymbols are the distinct gene-symbol-like tokens of s, in order:
// runs of letters and digits of at least 3 characters made of capital
// letters and digits only, with at least one of each (COL7A1, BRCA2; not
// DNA, not 1990, not Col7a1).
func GeneSymbols(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) < 3 || seen[w] {
			continue
		}
		letter, digit, ok := false, false, true
		for _, r := range w {
			switch {
			case r >= 'A' && r <= 'Z':
				letter = true
			case r >= '0' && r <= '9':
				digit = true
			default:
				ok = false
			}
		}
		if ok && letter && digit {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// GeneSupport maps a lower-cased focus to the gene symbols of every answer
// with that focus.
type GeneSupport map[string]map[string]bool

// NewGeneSupport collects the gene symbols of rows' answers by focus.
func NewGeneSupport(rows ...[]Row) GeneSupport {
	g := GeneSupport{}
	for _, rs := range rows {
		for _, r := range rs {
			f := strings.ToLower(r.Focus)
			if g[f] == nil {
				g[f] = map[string]bool{}
			}
			for _, s := range GeneSymbols(r.Reference()) {
				g[f][s] = true
			}
		}
	}
	return g
}

// Hallucination sets each model's overall hallucination_rate: the
// percentage of gene symbols in its answers (distinct within an answer)
// that appear in no MedQuAD answer with the row's focus (support) and not in
// the question; gene_symbols is how many there were. rows are the report's
// rows, in order.
func (r *Report) Hallucination(rows []Row, support GeneSupport) {
	for m := range r.Models {
		total, bad := 0, 0
		for i, ex := range r.Examples {
			inQ := map[string]bool{}
			for _, s := range GeneSymbols(rows[i].Question) {
				inQ[s] = true
			}
			known := support[strings.ToLower(rows[i].Focus)]
			for _, s := range GeneSymbols(ex.Outputs[m].Text) {
				total++
				if !inQ[s] && !known[s] {
					bad++
				}
			}
		}
		rate := 0.0
		if total > 0 {
			rate = 100 * float64(bad) / float64(total)
		}
		r.Models[m].Overall.HallucinationRate = &rate
		r.Models[m].Overall.GeneSymbols = &total
	}
}

// ReadSplits reads every split of dir that exists (for GeneSupport).
func ReadSplits(dir string) ([]Row, error) {
	var all []Row
	for _, s := range []string{"train", "validation", "test"} {
		rows, err := ReadSplit(dir, s, 0)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
	}
	return all, nil
}
