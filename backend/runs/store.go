package runs

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"

	"medqa/trainer/runspec"
)

// Run statuses. Cancelled, interrupted and failed runs can be resumed.
const (
	StatusQueued      = "queued"
	StatusRunning     = "running"
	StatusCancelling  = "cancelling"
	StatusCancelled   = "cancelled"
	StatusInterrupted = "interrupted" // the server stopped while it ran
	StatusFailed      = "failed"
	StatusSucceeded   = "succeeded"
)

// Resumable reports whether a run in this status can be resumed.
func Resumable(status string) bool {
	return status == StatusCancelled || status == StatusInterrupted || status == StatusFailed
}

// Run is a training run and its pipeline, as listed.
type Run struct {
	ID         int64      `json:"id"`
	Status     string     `json:"status"`
	Stage      string     `json:"stage"` // train, evaluate, merge, quantize: the current or last one
	Resume     bool       `json:"resume"`
	Config     Config     `json:"config"`
	Dir        string     `json:"dir"`
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Metrics    Metrics    `json:"metrics"`
	Attempts   int        `json:"attempts"` // launches of the train stage (1 + resumes)
	// Only, when set, is the one stage the run executes next instead of its pipeline (an
	// evaluation asked for after the run succeeded); cleared when it succeeds.
	Only        string   `json:"only,omitempty"`
	Checkpoints []string `json:"checkpoints,omitempty"`
}

// Metrics summarises a run's events.
type Metrics struct {
	Step        int64    `json:"step"`
	Loss        *float64 `json:"loss,omitempty"`
	ValLoss     *float64 `json:"val_loss,omitempty"`
	BestValLoss *float64 `json:"best_val_loss,omitempty"`
	ValPPL      *float64 `json:"val_ppl,omitempty"`
	TokensPerS  *float64 `json:"tokens_per_s,omitempty"`
	EtaS        *float64 `json:"eta_s,omitempty"`
}

// Model is a servable artifact of a run (or given at start).
type Model struct {
	ID        int64     `json:"id"`
	RunID     int64     `json:"run_id"`
	Kind      string    `json:"kind"`              // merged, int8, int4, adapter
	Path      string    `json:"path"`              // the model directory to load
	Adapter   string    `json:"adapter,omitempty"` // a PEFT adapter to apply on top, for kind adapter
	CreatedAt time.Time `json:"created_at"`
	Active    bool      `json:"active"`
}

// Name is how clients see the model (/v1/models).
func (m Model) Name() string { return fmt.Sprintf("medqa-run%d-%s", m.RunID, m.Kind) }

// ErrNotFound is returned for an unknown run or model id.
var ErrNotFound = errors.New("not found")

// store keeps runs, their events and models in SQLite (WAL: readers never block the
// writer, and a crash loses at most the last uncommitted event).
type store struct{ db *sql.DB }

// migrations are applied in order; PRAGMA user_version counts those applied. Append only.
var migrations = []string{
	`CREATE TABLE runs (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		status TEXT NOT NULL,
		stage TEXT NOT NULL DEFAULT 'train',
		resume INTEGER NOT NULL DEFAULT 0,
		config TEXT NOT NULL,
		dir TEXT NOT NULL DEFAULT '',
		error TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		queued_at INTEGER NOT NULL,
		started_at INTEGER,
		finished_at INTEGER,
		attempts INTEGER NOT NULL DEFAULT 0,
		metrics TEXT NOT NULL DEFAULT '{}'
	);
	CREATE INDEX runs_queue ON runs(status, queued_at);
	CREATE TABLE events (
		run_id INTEGER NOT NULL REFERENCES runs(id),
		seq INTEGER NOT NULL,
		data TEXT NOT NULL,
		PRIMARY KEY (run_id, seq)
	) WITHOUT ROWID;
	CREATE TABLE models (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		run_id INTEGER NOT NULL,
		kind TEXT NOT NULL,
		path TEXT NOT NULL,
		adapter TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		UNIQUE (run_id, kind)
	);
	CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
	`ALTER TABLE runs ADD COLUMN only_stage TEXT NOT NULL DEFAULT '';`,
}

func openStore(dir string) (*store, error) {
	path := filepath.Join(dir, "medqa.db")
	// Private before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	// One connection: SQLite has one writer anyway, and it keeps pragmas and the
	// busy_timeout on the connection everything uses.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	s := &store{db}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *store) migrate() error {
	var v int
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// recover marks runs the previous process left running as interrupted (resumable); a
// cancel in progress counts as done.
func (s *store) recover() (int64, error) {
	now := time.Now().UnixMilli()
	res, err := s.db.Exec(`UPDATE runs SET status = ?, error = 'the server stopped during this run', finished_at = ? WHERE status = ?`, StatusInterrupted, now, StatusRunning)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	_, err = s.db.Exec(`UPDATE runs SET status = ?, finished_at = ? WHERE status = ?`, StatusCancelled, now, StatusCancelling)
	return n, err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func (s *store) create(cfg Config, dirOf func(id int64) string) (int64, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return 0, err
	}
	now := ms(time.Now())
	tx, err := s.db.Begin()
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.Exec(`INSERT INTO runs (status, config, created_at, queued_at) VALUES (?, ?, ?, ?)`, StatusQueued, data, now, now)
	if err != nil {
		return 0, err
	}
	id, _ := res.LastInsertId()
	if _, err := tx.Exec(`UPDATE runs SET dir = ? WHERE id = ?`, dirOf(id), id); err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

const runCols = `id, status, stage, resume, config, dir, error, created_at, started_at, finished_at, attempts, metrics, only_stage`

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var cfg, met string
	var created int64
	var started, finished sql.NullInt64
	if err := row.Scan(&r.ID, &r.Status, &r.Stage, &r.Resume, &cfg, &r.Dir, &r.Error, &created, &started, &finished, &r.Attempts, &met, &r.Only); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, ErrNotFound
		}
		return r, err
	}
	if err := json.Unmarshal([]byte(cfg), &r.Config); err != nil {
		return r, fmt.Errorf("run %d: config: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(met), &r.Metrics); err != nil {
		return r, fmt.Errorf("run %d: metrics: %w", r.ID, err)
	}
	r.CreatedAt = time.UnixMilli(created)
	if started.Valid {
		t := time.UnixMilli(started.Int64)
		r.StartedAt = &t
	}
	if finished.Valid {
		t := time.UnixMilli(finished.Int64)
		r.FinishedAt = &t
	}
	return r, nil
}

func (s *store) get(id int64) (Run, error) {
	return scanRun(s.db.QueryRow(`SELECT `+runCols+` FROM runs WHERE id = ?`, id))
}

func (s *store) list() ([]Run, error) {
	rows, err := s.db.Query(`SELECT ` + runCols + ` FROM runs ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// countStatus counts the runs in status.
func (s *store) countStatus(status string) (int, error) {
	var n int
	err := s.db.QueryRow(`SELECT count(*) FROM runs WHERE status = ?`, status).Scan(&n)
	return n, err
}

// nextQueued is the oldest queued run.
func (s *store) nextQueued() (Run, error) {
	return scanRun(s.db.QueryRow(`SELECT `+runCols+` FROM runs WHERE status = ? ORDER BY queued_at, id LIMIT 1`, StatusQueued))
}

// setStatus moves a run from one of the statuses in from (any when empty) to status, and
// reports whether it did.
func (s *store) setStatus(id int64, status, errMsg string, from ...string) (bool, error) {
	q := `UPDATE runs SET status = ?, error = ?`
	args := []any{status, errMsg}
	now := ms(time.Now())
	switch status {
	case StatusQueued:
		q += `, queued_at = ?, finished_at = NULL`
		args = append(args, now)
	case StatusCancelled, StatusInterrupted, StatusFailed, StatusSucceeded:
		q += `, finished_at = ?`
		args = append(args, now)
	}
	q += ` WHERE id = ?`
	args = append(args, id)
	if len(from) > 0 {
		q += ` AND status IN (?` + repeat(",?", len(from)-1) + `)`
		for _, f := range from {
			args = append(args, f)
		}
	}
	res, err := s.db.Exec(q, args...)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func (s *store) startStage(id int64, stage string, countAttempt bool) error {
	att := 0
	if countAttempt {
		att = 1
	}
	_, err := s.db.Exec(`UPDATE runs SET status = ?, stage = ?, error = '', started_at = COALESCE(started_at, ?), attempts = attempts + ?, finished_at = NULL WHERE id = ?`,
		StatusRunning, stage, ms(time.Now()), att, id)
	return err
}

// requeueResume queues a run in one of the statuses from to continue where it stopped, and
// reports whether it did.
func (s *store) requeueResume(id int64, from ...string) (bool, error) {
	res, err := s.db.Exec(`UPDATE runs SET status = ?, resume = 1, error = '', queued_at = ?, finished_at = NULL WHERE id = ? AND status IN (?`+repeat(",?", len(from)-1)+`)`,
		append([]any{StatusQueued, ms(time.Now()), id}, toAny(from)...)...)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// queueOnly queues a succeeded run to execute stage alone, and reports whether it did.
func (s *store) queueOnly(id int64, stage string) (bool, error) {
	res, err := s.db.Exec(`UPDATE runs SET status = ?, only_stage = ?, resume = 0, error = '', queued_at = ?, finished_at = NULL WHERE id = ? AND status = ?`,
		StatusQueued, stage, ms(time.Now()), id, StatusSucceeded)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *store) clearOnly(id int64) error {
	_, err := s.db.Exec(`UPDATE runs SET only_stage = '' WHERE id = ?`, id)
	return err
}

func (s *store) setResume(id int64, resume bool) error {
	_, err := s.db.Exec(`UPDATE runs SET resume = ? WHERE id = ?`, resume, id)
	return err
}

// appendEvent gives ev the run's next sequence number and stores it with the updated
// metrics summary, in one transaction.
func (s *store) appendEvent(ev *runspec.Record, met Metrics) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.QueryRow(`SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = ?`, ev.RunID).Scan(&ev.Seq); err != nil {
		return err
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO events (run_id, seq, data) VALUES (?, ?, ?)`, ev.RunID, ev.Seq, data); err != nil {
		return err
	}
	m, _ := json.Marshal(met)
	if _, err := tx.Exec(`UPDATE runs SET metrics = ? WHERE id = ?`, m, ev.RunID); err != nil {
		return err
	}
	return tx.Commit()
}

// events returns a run's events with seq > after, in order.
func (s *store) events(id, after int64) ([]runspec.Record, error) {
	rows, err := s.db.Query(`SELECT data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq`, id, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []runspec.Record
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var ev runspec.Record
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return nil, fmt.Errorf("run %d: stored event: %w", id, err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

func (s *store) addModel(m Model) error {
	_, err := s.db.Exec(`INSERT INTO models (run_id, kind, path, adapter, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (run_id, kind) DO UPDATE SET path = excluded.path, adapter = excluded.adapter, created_at = excluded.created_at`,
		m.RunID, m.Kind, m.Path, m.Adapter, ms(time.Now()))
	return err
}

func (s *store) models() ([]Model, error) {
	active, _ := s.setting("active_model")
	rows, err := s.db.Query(`SELECT id, run_id, kind, path, adapter, created_at FROM models ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Model
	for rows.Next() {
		var m Model
		var created int64
		if err := rows.Scan(&m.ID, &m.RunID, &m.Kind, &m.Path, &m.Adapter, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = time.UnixMilli(created)
		m.Active = fmt.Sprint(m.ID) == active
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *store) setting(key string) (string, error) {
	var v string
	err := s.db.QueryRow(`SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (s *store) setSetting(key, value string) error {
	_, err := s.db.Exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

func (s *store) close() error { return s.db.Close() }
