package gpucheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Files run.sh leaves in the work folder for each check: NAME.json (the result, written by the check),
// NAME.rc (its exit status), NAME.limit (its time limit in seconds), NAME.log (its output); and
// shim.err when the shim did not build, so that no check ran.
const shimErrFile = "shim.err"

// Report joins the checks' results in work into one object, one key per check. A check that left no
// result failed: timed out (exit 124 or 137 from timeout), crashed (its log's last lines), or never ran.
func Report(work string) *Obj {
	out := &Obj{}
	for _, c := range Checks {
		out.Set(c.Name, result(work, c.Name))
	}
	return out
}

func result(work, name string) *Obj {
	path := filepath.Join(work, name+".json")
	if raw, err := os.ReadFile(path); err == nil {
		var o Obj
		if err := json.Unmarshal(raw, &o); err == nil {
			if _, ok := o.Get("ok"); ok {
				return &o
			}
		}
		return (&Obj{}).Set("ok", false).Set("reason", fmt.Sprintf("%s is not a result object: %.200s", path, raw))
	}
	read := func(suffix string) string {
		b, _ := os.ReadFile(filepath.Join(work, name+suffix))
		return strings.TrimSpace(string(b))
	}
	rc, limit := read(".rc"), read(".limit")
	fail := (&Obj{}).Set("ok", false)
	switch {
	case rc == "124" || rc == "137":
		return fail.Set("reason", fmt.Sprintf("timed out after %ss; last output: %s", limit, tail(read(".log"), 400)))
	case rc != "":
		return fail.Set("reason", fmt.Sprintf("exited with status %s and no result; last output: %s", rc, tail(read(".log"), 400)))
	}
	if b, err := os.ReadFile(filepath.Join(work, shimErrFile)); err == nil {
		return fail.Set("reason", "not run: the libtorch shim did not build: "+tail(string(b), 400))
	}
	return fail.Set("reason", "not run")
}
