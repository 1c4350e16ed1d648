#!/usr/bin/env bash
# record.sh NAME -- COMMAND [ARG...]
#
# Runs one benchmark command from the repository root and keeps its raw output in
# docs/bench/raw/NAME.txt, under a header that says when, where and under what load it ran:
# the date (UTC), the git commit, the machine (uname, CPU model, cores), /proc/loadavg
# before and after, and the exact command. Figures quoted in docs/benchmarks.md come from
# these files, never from memory.
#
# The output is shown live as well. A command that fails leaves the previous NAME.txt
# untouched and its output in NAME.failed.txt, and record.sh exits with its status.
set -euo pipefail

usage() { echo "usage: $0 NAME -- COMMAND [ARG...]" >&2; exit 2; }
[ $# -ge 3 ] && [ "$2" = "--" ] || usage
name=$1
shift 2
case $name in *[!A-Za-z0-9._-]*|'') echo "record.sh: bad name \"$name\" (letters, digits, . _ -)" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/../.." && pwd)
raw="$root/docs/bench/raw"
mkdir -p "$raw"
cd "$root"

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit (with uncommitted changes)"; fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)

tmp=$(mktemp "$raw/.$name.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
	echo "# benchmark: $name"
	echo "# date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# commit:    $commit"
	echo "# machine:   $(uname -srm); ${cpu:-unknown CPU}; $(nproc) cores"
	echo "# go:        $(go env GOVERSION 2>/dev/null || echo none)"
	echo "# load:      $(cat /proc/loadavg) (before)"
	printf '# command:  '; printf ' %q' "$@"; echo
	echo "#"
} >"$tmp"

start=$(date +%s)
set +e
"$@" 2>&1 | tee -a "$tmp"
status=${PIPESTATUS[0]}
set -e
{
	echo "#"
	echo "# load:      $(cat /proc/loadavg) (after)"
	echo "# wall:      $(( $(date +%s) - start )) s, exit status $status"
} >>"$tmp"

if [ "$status" -ne 0 ]; then
	mv "$tmp" "$raw/$name.failed.txt"
	echo "record.sh: $name failed (exit $status); output in docs/bench/raw/$name.failed.txt" >&2
	exit "$status"
fi
mv "$tmp" "$raw/$name.txt"
rm -f "$raw/$name.failed.txt"
echo "record.sh: wrote docs/bench/raw/$name.txt" >&2
