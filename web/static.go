package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

// staticHandler serves files from fsys with a content-hash ETag and revalidation, so a rebuilt
// asset is picked up at once without cache-busting names. A precompressed "name.gz" next to a
// file is sent to clients that accept gzip (the wasm module shrinks about 4x).
func staticHandler(fsys fs.FS) http.Handler {
	var mu sync.Mutex
	etags := map[string]string{}
	etag := func(name string, data []byte) string {
		mu.Lock()
		defer mu.Unlock()
		if t, ok := etags[name]; ok {
			return t
		}
		sum := sha256.Sum256(data)
		t := `"` + hex.EncodeToString(sum[:12]) + `"`
		etags[name] = t
		return t
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" || strings.HasSuffix(name, ".gz") || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "no-cache")
		h.Add("Vary", "Accept-Encoding")
		body, tag := data, etag(name, data)
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			if gz, err := fs.ReadFile(fsys, name+".gz"); err == nil {
				body, tag = gz, etag(name+".gz", gz)
				h.Set("Content-Encoding", "gzip")
			}
		}
		h.Set("ETag", tag)
		if match := r.Header.Get("If-None-Match"); match != "" && match == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}
