package data

import (
	"strings"

	"medqa/wasm/retrieve"
)

// AddRAG puts k retrieved passages into every row's user turn with the one RAG
// template (retrieve.Augment), so that a model learns to answer from them. The
// passages come from the training split only, and never hold the row's own
// answer: a passage is skipped when it is the row itself or its answer equals
// the row's (MedQuAD repeats answers under different questions). Otherwise the
// model would learn to copy the gold answer from its prompt.
func (ds *Dataset) AddRAG(k int) {
	train := ds.Splits[0]
	kb := make([]retrieve.Passage, len(train))
	for i, r := range train {
		kb[i] = retrieve.Passage{ID: r.ID, Question: r.Question, Answer: r.Answer, Focus: r.Focus, QType: r.QType, Source: r.Source}
	}
	ix := retrieve.NewIndex(kb, retrieve.DefaultParams)
	for s := range ds.Splits {
		for i := range ds.Splits[s] {
			r := &ds.Splits[s][i]
			hits := ix.SearchFilter(r.Question, k, func(d int) bool {
				return kb[d].ID != r.ID && kb[d].Answer != r.Answer
			})
			ps := make([]retrieve.Passage, len(hits))
			ids := make([]string, len(hits))
			for j, h := range hits {
				ps[j] = kb[h.Doc]
				ids[j] = kb[h.Doc].ID
			}
			r.Retrieved = strings.Join(ids, " ")
			r.augmented = ""
			r.augmented = retrieve.Augment(r.Prompt(), ps)
		}
	}
}
