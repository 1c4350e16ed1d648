// Package auth guards the admin side: the admin password (kept only as a bcrypt hash),
// sessions in HttpOnly SameSite=Strict cookies, CSRF tokens, origin checks and per-client
// rate limits.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"medqa/trainer/atomicfile"

	"golang.org/x/crypto/bcrypt"
)

// HashFile is the file under the data directory that holds the admin password's hash.
const HashFile = "admin.bcrypt"

// PasswordFile is where a generated password is written (mode 0600) when there is no
// terminal to show it on; delete it once read.
const PasswordFile = "admin.password"

// loadHash returns the bcrypt hash of the admin password: of password when it is given
// (MEDQA_ADMIN_PASSWORD), else the stored one, else that of a new random password, which is
// stored as a hash and shown once: written to announce (a terminal), or with no terminal to
// PasswordFile (mode 0600), whose path is returned. Never to the logs, which are often kept
// and shipped where a password must not go.
func loadHash(dir, password string, cost int, announce io.Writer) (hash []byte, pwFile string, err error) {
	if password != "" {
		if len(password) < 8 {
			return nil, "", errors.New("MEDQA_ADMIN_PASSWORD: must be at least 8 characters")
		}
		if len(password) > 72 {
			return nil, "", errors.New("MEDQA_ADMIN_PASSWORD: bcrypt uses at most 72 bytes; choose a shorter one")
		}
		h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
		return h, "", err
	}
	path := filepath.Join(dir, HashFile)
	h, err := os.ReadFile(path)
	if err == nil {
		h = []byte(strings.TrimSpace(string(h)))
		if _, err := bcrypt.Cost(h); err != nil {
			return nil, "", fmt.Errorf("%s: not a bcrypt hash (%v); delete it to generate a new password", path, err)
		}
		return h, "", nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	pw := base64.RawURLEncoding.EncodeToString(raw)
	h, err = bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", err
	}
	if announce == nil {
		pwFile = filepath.Join(dir, PasswordFile)
		if err := atomicfile.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
			return nil, "", err
		}
	}
	if err := atomicfile.WriteFile(path, append(h, '\n'), 0o600); err != nil {
		return nil, "", err
	}
	if announce != nil {
		fmt.Fprintf(announce, "\nmedqa: generated admin password (shown only this once; its hash is in %s):\n\n    %s\n\n", path, pw)
	}
	return h, pwFile, nil
}
