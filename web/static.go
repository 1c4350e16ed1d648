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
	// Hashes are remembered per name, size and modification time: embedded files never
	// change, while a file edited under --static (os.DirFS) gets a new tag at once.
	type version struct {
		name string
		size int64
		mod  int64
	}
	var mu sync.Mutex
	etags := map[version]string{}
	etag := func(name string, data []byte) string {
		v := version{name: name, size: int64(len(data))}
		if fi, err := fs.Stat(fsys, name); err == nil {
			v.mod = fi.ModTime().UnixNano()
		}
		mu.Lock()
		defer mu.Unlock()
		if t, ok := etags[v]; ok {
			return t
		}
		sum := sha256.Sum256(data)
		t := `"` + hex.EncodeToString(sum[:12]) + `"`
		for old := range etags { // one version per name: the map stays as small as the tree
			if old.name == name {
				delete(etags, old)
			}
		}
		etags[v] = t
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
