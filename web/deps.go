package web

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
)

// ErrNotFound is what a RunReader returns for an unknown run id or a run without a report;
// the pages answer it with 404 instead of 500.
var ErrNotFound = errors.New("not found")

// Auth tells the pages whether a request carries an admin session. Logging in and out is the
// backend's API (POST /api/login, POST /api/logout): the pages only call it from JavaScript.
type Auth interface {
	// Session reports whether r has a valid admin session and, if so, the CSRF token that
	// state-changing API calls from this page must send back in the X-CSRF-Token header.
	Session(r *http.Request) (csrfToken string, ok bool)
}

// RunReader is the read side of the run store that the admin pages show.
type RunReader interface {
	ListRuns(ctx context.Context) ([]Run, error)
	// GetRun returns ErrNotFound (possibly wrapped) for an unknown id.
	GetRun(ctx context.Context, id string) (*RunDetail, error)
	// Report returns the evaluation report of a run, or ErrNotFound when it has none yet.
	Report(ctx context.Context, id string) (*EvalReport, error)
}

// Deps is everything the pages need from the server that mounts them.
type Deps struct {
	Auth Auth
	Runs RunReader
	// Static serves /static/ (css, js, images); nil means the embedded assets.Web.
	Static fs.FS
	// Wasm serves /wasm/ (medqa.wasm and the toolchain's wasm_exec.js), normally assets.Wasm();
	// nil leaves /wasm/ unserved (404), and the pages run without their in-browser extras.
	Wasm fs.FS
	// Chat holds the chat page's defaults; the zero value means DefaultChatSettings().
	Chat ChatSettings
	// Serving, when set, names the model serving now (it changes when the admin activates
	// another); the chat page shows it instead of Chat.Model.
	Serving func() string
}

// ChatSettings are the sampling defaults and limits the chat page offers.
type ChatSettings struct {
	Model          string  // shown in the header, e.g. "medqa-tiny (int8)"
	Temperature    float64 // default temperature
	TopP           float64 // default nucleus mass
	MaxTokens      int     // default max new tokens
	MaxTokensLimit int     // upper bound the server accepts
	RAG            bool    // the model's default: answers from retrieved passages (docs/retrieval.md)
}

// DefaultChatSettings are the sampling defaults when the server gives none.
func DefaultChatSettings() ChatSettings {
	return ChatSettings{Model: "medqa", Temperature: 0.7, TopP: 0.9, MaxTokens: 256, MaxTokensLimit: 1024}
}
