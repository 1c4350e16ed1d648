package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"medqa/backend/auth"
)

// tokenizerFile is GET /api/tokenizer/{file}: the serving model's tokenizer.bin or
// tokenizer_config.json, so that the browser module counts tokens and previews prompts with
// the model's own tokenizer and chat template (a trimmed vocabulary counts differently from
// the Qwen2.5 one the module carries). X-Medqa-Model names the model they belong to.
func (s *Server) tokenizerFile(w http.ResponseWriter, r *http.Request) {
	name, files := s.opt.Engine.Client()
	if files == nil {
		auth.Error(w, http.StatusNotFound, "the serving model publishes no tokenizer files")
		return
	}
	var data []byte
	switch r.PathValue("file") {
	case "tokenizer.bin":
		data = files.Binary
	case "tokenizer_config.json":
		data = files.Config
	default:
		auth.Error(w, http.StatusNotFound, "want tokenizer.bin or tokenizer_config.json")
		return
	}
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache") // revalidate: a hot swap changes the model
	h.Set("X-Medqa-Model", name)
	h.Set("Vary", "Accept-Encoding")
	if strings.Contains(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if strings.HasSuffix(r.URL.Path, ".json") {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	if r.PathValue("file") == "tokenizer.bin" && files.BinaryGzip != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		w.Write(files.BinaryGzip)
		return
	}
	w.Write(data)
}
