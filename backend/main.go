// Command backend is medqa's server: `go run ./backend [flags]`. It serves the chat
// (websocket and OpenAI-compatible API), the admin API for training runs, health and
// metrics, until SIGINT/SIGTERM, then shuts down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/runs"
	"medqa/backend/server"
)

type flags struct {
	model, adapter, addr, data, trainer, static, origins, logFormat, tlsCert, tlsKey, kb string
	allowedHosts, runRoots, trustedProxies                                               string
	maxQueuedRuns, maxStreamsPerClient                                                   int
	requireLogin                                                                         bool
	grace, stallAfter                                                                    time.Duration
	eng                                                                                  engine.Config
}

func parseFlags(args []string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.StringVar(&f.model, "model", "", "model directory to serve: Hugging Face Qwen2 (base or merged) or a medqa int8/int4 directory (default: the last activated model, else the embedded default model)")
	fs.StringVar(&f.adapter, "adapter", "", "PEFT adapter directory applied on top of --model")
	fs.StringVar(&f.kb, "kb", defaultKB, `knowledge base answers cite and RAG prompts hold (.jsonl or .jsonl.gz, written by "trainer kb"); "" or a missing default: no sources`)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&f.data, "data", "data", "data directory: run store (medqa.db), run artifacts (runs/<id>/), admin password hash")
	fs.StringVar(&f.trainer, "trainer", "", `command that runs the trainer CLI (default: "bin/trainer" if built, else "go run ./trainer")`)
	fs.StringVar(&f.static, "static", "", "serve the pages' /static/ files from this directory instead of the embedded ones (for editing assets/web live)")
	fs.StringVar(&f.origins, "origins", "", "comma-separated extra browser origins allowed (e.g. https://medqa.example.org)")
	fs.StringVar(&f.allowedHosts, "allowed-hosts", "", `comma-separated Host names served, e.g. medqa.example.org ("*": any); default: the listen host, localhost, 127.0.0.1, [::1] (and the machine's addresses when listening on all of them)`)
	fs.StringVar(&f.runRoots, "run-roots", "", "comma-separated directories a run's base_model and data must lie under (default: the data directory, assets and data)")
	fs.DurationVar(&f.stallAfter, "run-stall-after", 30*time.Minute, "stop a trainer that writes nothing for this long (its run fails, resumable)")
	fs.IntVar(&f.maxQueuedRuns, "max-queued-runs", 16, "training runs waiting to start before POST /api/runs answers 429")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed (rate limits, logs, Secure cookies); default: none")
	fs.BoolVar(&f.requireLogin, "require-login", false, "chat needs an admin session too (default: chat is public, rate-limited per client)")
	fs.DurationVar(&f.grace, "grace", 30*time.Second, "shutdown grace period for streams and the trainer's checkpoint")
	fs.StringVar(&f.logFormat, "log", "text", "log format: text or json")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (with --tls-key); cookies become Secure")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key")
	fs.IntVar(&f.maxStreamsPerClient, "max-streams-per-client", 4, "chat streams one client may have open at once (waiting and active); more get 429 / too_many_streams")
	fs.IntVar(&f.eng.MaxBatch, "max-batch", 8, "requests decoded together")
	fs.IntVar(&f.eng.MaxQueue, "max-queue", 64, "requests waiting for a slot before 429")
	fs.IntVar(&f.eng.MaxPromptTokens, "max-prompt-tokens", 2048, "longest prompt accepted")
	fs.IntVar(&f.eng.MaxNewTokens, "max-new-tokens", 1024, "largest max_tokens accepted")
	fs.IntVar(&f.eng.DefaultNewTokens, "default-new-tokens", 512, "max_tokens when a request leaves it out")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.maxStreamsPerClient < 1 {
		return f, errors.New("--max-streams-per-client: must be at least 1")
	}
	if f.stallAfter <= 0 {
		return f, errors.New("--run-stall-after: must be positive")
	}
	if f.maxQueuedRuns < 1 {
		return f, errors.New("--max-queued-runs: must be at least 1")
	}
	if _, err := auth.ParsePrefixes(f.trustedProxies); err != nil {
		return f, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return f, errors.New("--tls-cert and --tls-key go together")
	}
	if f.adapter != "" && f.model == "" {
		return f, errors.New("--adapter needs --model (the base it adapts)")
	}
	return f, nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "backend:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	f, err := parseFlags(args)
	if err != nil {
		return err
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if f.logFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, nil)
	}
	log := slog.New(h)
	slog.SetDefault(log)

	// Everything the server and its trainers create is the server user's alone: the run store,
	// logs, checkpoints, the password hash.
	syscall.Umask(0o077)
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(f.data, 0o700); err != nil { // an older server made it 0755
		return err
	}
	// Read the password, then drop it from the environment so trainer children never see it.
	pw := os.Getenv("MEDQA_ADMIN_PASSWORD")
	os.Unsetenv("MEDQA_ADMIN_PASSWORD")
	cfg := auth.Config{Dir: f.data, Password: pw}
	// A generated password goes to the terminal (not stderr, which carries the logs and is
	// often captured); without one, to a 0600 file whose path is logged.
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		cfg.Announce = tty
	}
	au, err := auth.New(cfg)
	if err != nil {
		return err
	}
	if au.PasswordFile != "" {
		log.Warn("generated an admin password; no terminal to show it on, so it is in this file (mode 0600): read it, then delete it", "file", au.PasswordFile)
	}

	roots := []string{f.data, "assets", "data"}
	if f.runRoots != "" {
		roots = splitList(f.runRoots)
	}
	rm, err := runs.Open(runs.Options{Dir: f.data, Launcher: runs.Local{Command: trainerCommand(f.trainer)}, Logger: log,
		Roots: roots, MaxQueued: f.maxQueuedRuns, StallAfter: f.stallAfter})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Bind before loading the model, so a busy port fails at once.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		rm.Shutdown(context.Background())
		return err
	}
	// The knowledge base loads while the model does: both take seconds.
	type kbResult struct {
		s   *server.Sources
		err error
	}
	kbc := make(chan kbResult, 1)
	go func() {
		s, err := loadSources(f.kb, log)
		kbc <- kbResult{s, err}
	}()
	bundle, err := startModel(ctx, f, rm)
	if err == nil {
		if kb := <-kbc; kb.err != nil {
			err = kb.err
		} else {
			kbc <- kb
		}
	}
	if err != nil {
		ln.Close()
		rm.Shutdown(context.Background())
		return err
	}
	sources := (<-kbc).s
	eng := engine.New(f.eng, &bundle)

	var static fs.FS
	if f.static != "" {
		if fi, err := os.Stat(f.static); err != nil || !fi.IsDir() {
			return fmt.Errorf("--static %s: not a directory", f.static)
		}
		static = os.DirFS(f.static)
	}
	var origins []string
	for _, o := range strings.Split(f.origins, ",") {
		if o = strings.TrimSpace(strings.ToLower(o)); o != "" {
			origins = append(origins, strings.TrimSuffix(o, "/"))
		}
	}
	proxies, _ := auth.ParsePrefixes(f.trustedProxies) // checked by parseFlags
	cs := chatSettings(bundle.Name, bundle.Sampling, f.eng)
	cs.RAG = bundle.RAG // the checkbox's initial state: the model's default
	srv := server.New(server.Options{
		Engine: eng, Auth: au, Runs: rm, LoadModel: loadModel, Logger: log, Sources: sources,
		TrustedProxies: proxies, MaxStreamsPerClient: f.maxStreamsPerClient,
		AllowedOrigins: origins, AllowedHosts: allowedHosts(f.allowedHosts, f.addr), RequireLogin: f.requireLogin,
		Pages: pages(au, rm, eng, static, cs),
	})
	hs := srv.HTTPServer(f.addr)
	serveErr := make(chan error, 1)
	go func() {
		if f.tlsCert != "" {
			serveErr <- hs.ServeTLS(ln, f.tlsCert, f.tlsKey)
		} else {
			serveErr <- hs.Serve(ln)
		}
	}()
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	log.Info("medqa serving", "url", url, "model", bundle.Name, "data", f.data, "require_login", f.requireLogin)
	fmt.Fprintf(os.Stderr, "\nmedqa is serving %s at %s\n\n", bundle.Name, url)

	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			srv.Shutdown(context.Background(), nil)
			return err
		}
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", f.grace)
	sctx, cancel := context.WithTimeout(context.Background(), f.grace)
	defer cancel()
	if err := srv.Shutdown(sctx, hs); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

// allowedHosts is --allowed-hosts, else the listen host and the loopback names. Listening on
// every interface (0.0.0.0, ::) adds the machine's own addresses: an IP literal cannot be
// rebound by DNS, so only names need listing.
func allowedHosts(flagValue, addr string) []string {
	if flagValue != "" {
		return splitList(flagValue)
	}
	hosts := slices.Clone(server.DefaultHosts)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return hosts
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					hosts = append(hosts, n.IP.String())
				}
			}
		}
		return hosts
	}
	return append(hosts, host)
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// trainerCommand is the configured command, else a built trainer, else `go run`.
func trainerCommand(flagValue string) []string {
	if flagValue != "" {
		return strings.Fields(flagValue)
	}
	if fi, err := os.Stat(filepath.Join("bin", "trainer")); err == nil && !fi.IsDir() {
		return []string{filepath.Join("bin", "trainer")}
	}
	return []string{"go", "run", "./trainer"}
}

// startModel loads --model, else the model last activated from the admin page, else the
// default model.
func startModel(ctx context.Context, f flags, rm *runs.Manager) (engine.Bundle, error) {
	if f.model != "" {
		return loadModel(ctx, filepath.Base(filepath.Clean(f.model)), f.model, f.adapter)
	}
	if m, ok, err := rm.Active(); err == nil && ok {
		b, err := loadModel(ctx, m.Name(), m.Path, m.Adapter)
		if err == nil {
			return b, nil
		}
		slog.Error("the last activated model does not load; using the default", "model", m.Name(), "err", err)
	}
	return loadDefaultModel(ctx)
}

// defaultKB is the shipped knowledge base, found when the server runs in the repository.
const defaultKB = "files/medquad_kb.jsonl.gz"

// loadSources reads and indexes the knowledge base; without one the server runs, citing
// nothing. Only the default may be missing.
func loadSources(path string, log *slog.Logger) (*server.Sources, error) {
	if path == "" {
		return nil, nil
	}
	if _, err := os.Stat(path); path == defaultKB && errors.Is(err, os.ErrNotExist) {
		log.Warn("no knowledge base: answers cite no sources", "kb", path)
		return nil, nil
	}
	s, err := server.LoadSources(path)
	if err != nil {
		return nil, fmt.Errorf("--kb: %w", err)
	}
	log.Info("knowledge base loaded", "kb", path, "passages", len(s.KB), "load_ms", s.Load.Milliseconds())
	return s, nil
}
