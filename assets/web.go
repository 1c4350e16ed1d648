// Package assets holds what browsers load and what the binaries embed.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed web
var webFiles embed.FS

// The wasm folder always holds its README, so the pattern matches before the module is built;
// `make wasm` writes medqa.wasm (+ .gz) and the toolchain's wasm_exec.js beside it.
//
//go:embed wasm
var wasmFiles embed.FS

// Web is the pages' stylesheets, scripts and images, served under /static/.
var Web = mustSub(webFiles, "web")

// Wasm returns the browser module and its loader, served under /wasm/. It is a function, not a
// variable, so that a binary that never calls it (the Workers front, which leaves /wasm/ to
// Cloudflare's static assets) does not carry the module inside itself: the linker drops
// embedded data that nothing reaches.
func Wasm() fs.FS { return mustSub(wasmFiles, "wasm") }

func mustSub(f embed.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the directory is embedded above, so this cannot happen
	}
	return sub
}
