package server

import (
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"medqa/backend/engine"
	"medqa/wasm/chat"
	"medqa/wasm/retrieve"
)

// DefaultSources is how many passages an answer cites (and a RAG prompt holds).
const DefaultSources = retrieve.DefaultK

// maxSources bounds GET /api/sources?k=.
const maxSources = 20

// Sources is the knowledge base the server retrieves MedQuAD passages from:
// read from files/medquad_kb.jsonl.gz and indexed at start-up (docs/retrieval.md).
type Sources struct {
	KB    []retrieve.Passage
	Index *retrieve.Index
	// Load is how long reading and indexing took.
	Load time.Duration
}

// NewSources indexes passages.
func NewSources(kb []retrieve.Passage) *Sources {
	return &Sources{KB: kb, Index: retrieve.NewIndex(kb, retrieve.DefaultParams)}
}

// LoadSources reads a knowledge base file (.jsonl, optionally .gz) and indexes it.
func LoadSources(path string) (*Sources, error) {
	t0 := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r interface{ Read([]byte) (int, error) } = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r = zr
	}
	kb, err := retrieve.ReadJSONL(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := NewSources(kb)
	s.Load = time.Since(t0)
	return s, nil
}

// Source is one cited passage as clients receive it: the websocket's sources frame,
// /v1/chat/completions' sources field and GET /api/sources.
type Source struct {
	ID           string  `json:"id"`
	Title        string  `json:"title"` // the MedQuAD question the passage answers
	Focus        string  `json:"focus"`
	QType        string  `json:"qtype"`
	Source       string  `json:"source"`       // MedQuAD's source code: GHR, GARD, CancerGov, …
	Organisation string  `json:"organisation"` // the site behind it, spelled out
	URL          string  `json:"url"`
	Text         string  `json:"text"` // the answer's first retrieve.PassageWords words
	Score        float64 `json:"score"`
}

// Find returns the k passages that best match query, best first.
func (s *Sources) Find(query string, k int) ([]Source, []retrieve.Passage) {
	out := []Source{}
	var ps []retrieve.Passage
	for _, h := range s.Index.Search(query, k) {
		p := s.KB[h.Doc]
		ps = append(ps, p)
		out = append(out, Source{ID: p.ID, Title: p.Question, Focus: p.Focus, QType: p.QType, Source: p.Source,
			Organisation: retrieve.Organisation(p.Source), URL: p.URL,
			Text: retrieve.Truncate(p.Answer, retrieve.PassageWords), Score: h.Score})
	}
	return out, ps
}

// ground finds the sources of a request's question (its last user turn) and, when RAG is on
// (rag, else the model's default), puts the passages into that turn with retrieve.Augment.
// It returns the request to generate and the sources to show; nil sources when the server
// has no knowledge base or the conversation no user turn.
func (s *Server) ground(req engine.Request, rag *bool) (engine.Request, []Source) {
	if s.opt.Sources == nil {
		return req, nil
	}
	last := -1
	for i, m := range req.Messages {
		if m.Role == "user" {
			last = i
		}
	}
	if last < 0 {
		return req, nil
	}
	srcs, ps := s.opt.Sources.Find(req.Messages[last].Content, DefaultSources)
	on := s.opt.Engine.Stats().RAG
	if rag != nil {
		on = *rag
	}
	if on {
		msgs := append([]chat.Message(nil), req.Messages...)
		msgs[last].Content = retrieve.Augment(msgs[last].Content, ps)
		req.Messages = msgs
	}
	return req, srcs
}

// sourcesAPI is GET /api/sources?q=TEXT&k=N: {"sources":[…]}, the k (default 3, at most
// 20) passages that best match q.
func (s *Server) sourcesAPI(w http.ResponseWriter, r *http.Request) {
	if wait, err := s.rateLimit(r); err != nil {
		s.refuse(w, err, wait)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		s.refuse(w, &engine.InputError{Field: "q", Msg: "required"}, 0)
		return
	}
	k := DefaultSources
	if v := r.URL.Query().Get("k"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSources {
			s.refuse(w, &engine.InputError{Field: "k", Msg: fmt.Sprintf("want an integer from 1 to %d", maxSources)}, 0)
			return
		}
		k = n
	}
	if s.opt.Sources == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]any{
			"message": "this server has no knowledge base (--kb)", "type": "no_sources", "code": "no_sources"}})
		return
	}
	srcs, _ := s.opt.Sources.Find(q, k)
	writeJSON(w, http.StatusOK, map[string]any{"sources": srcs})
}
