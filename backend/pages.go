package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"

	"medqa/assets"
	"medqa/backend/auth"
	"medqa/backend/engine"
	"medqa/backend/runs"
	"medqa/web"
)

// pages mounts the web pages on the server's own session store and run store. The pages read
// runs in the admin API's JSON shape (web.DecodeRuns …), the same one the Workers front reads
// over HTTP, so the two cannot drift apart.
func pages(au *auth.Auth, rm *runs.Manager, eng *engine.Engine, static fs.FS, chat web.ChatSettings) http.Handler {
	d := web.Deps{Auth: pageAuth{au}, Static: static, Wasm: assets.Wasm(), Chat: chat,
		Serving: func() string { name, _ := eng.Client(); return name }}
	if rm != nil {
		d.Runs = pageRuns{rm}
	}
	return web.New(d)
}

// chatSettings are the chat page's defaults: the served model's sampling defaults (greedy,
// temperature 0, when its generation_config.json does not sample, as transformers does) and
// the engine's token limits.
func chatSettings(name string, s engine.Sampling, cfg engine.Config) web.ChatSettings {
	c := web.DefaultChatSettings()
	c.Model = name
	c.Temperature = max(s.Temperature, 0)
	if s.TopP > 0 && s.TopP <= 1 {
		c.TopP = s.TopP
	}
	if cfg.DefaultNewTokens > 0 {
		c.MaxTokens = cfg.DefaultNewTokens
	}
	if cfg.MaxNewTokens > 0 {
		c.MaxTokensLimit = cfg.MaxNewTokens
	}
	return c
}

type pageAuth struct{ a *auth.Auth }

func (p pageAuth) Session(r *http.Request) (string, bool) {
	s, ok := p.a.Session(r)
	if !ok {
		return "", false
	}
	return s.CSRF, true
}

type pageRuns struct{ m *runs.Manager }

func (p pageRuns) ListRuns(context.Context) ([]web.Run, error) {
	list, err := p.m.List()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(map[string]any{"runs": list})
	if err != nil {
		return nil, err
	}
	return web.DecodeRuns(b)
}

func (p pageRuns) GetRun(ctx context.Context, id string) (*web.RunDetail, error) {
	n, err := runID(id)
	if err != nil {
		return nil, err
	}
	d, err := p.m.Detail(n, 0)
	if err != nil {
		return nil, pageErr(id, err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	rd, err := web.DecodeRunDetail(b)
	if err != nil {
		return nil, err
	}
	if rep, err := p.Report(ctx, id); err == nil {
		rd.WithReport(rep)
	}
	return rd, nil
}

func (p pageRuns) Report(_ context.Context, id string) (*web.EvalReport, error) {
	n, err := runID(id)
	if err != nil {
		return nil, err
	}
	b, err := p.m.Report(n)
	if err != nil {
		return nil, pageErr(id, err)
	}
	return web.DecodeReport(id, b)
}

func runID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("run %q: %w", id, web.ErrNotFound)
	}
	return n, nil
}

func pageErr(id string, err error) error {
	if errors.Is(err, runs.ErrNotFound) {
		return fmt.Errorf("run %s: %w", id, web.ErrNotFound)
	}
	return err
}
