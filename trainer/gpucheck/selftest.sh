#!/usr/bin/env bash
# Runs the GPU bundle on this machine's CPU from a copy outside the repository (`make gpu-bundle-check`,
# part of `make test`), so that the bundle cannot rot between GPU runs. Fails unless every check passes;
# only peft may be skipped, where PEFT is not installed.
#
#   trainer/gpucheck/selftest.sh build/gpu-bundle
set -euo pipefail
bundle=$(cd "${1:?usage: selftest.sh BUNDLE_DIR}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/medqa-gpu-bundle-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -r "$bundle" "$tmp/gb"
cd "$tmp"
status=0
MEDQA_DEVICE=cpu OUT="$tmp/out" "$tmp/gb/run.sh" >"$tmp/stdout" || status=$?
last=$(tail -1 "$tmp/stdout")
echo "$last"
fail() { echo "selftest.sh: $*" >&2; exit 1; }
[ "$(cat "$tmp/out/gpu-check.json")" = "$last" ] || fail "\$OUT/gpu-check.json differs from the last line printed"
while read -r c _; do
	case $last in
	*"\"$c\":{\"ok\":true"*) ;;
	*"\"$c\":{\"ok\":null"*) [ "$c" = peft ] || fail "$c was skipped" ;;
	*) fail "$c did not pass" ;;
	esac
done < <("$tmp/gb/bin/trainer" gpucheck list)
[ "$status" = 0 ] || fail "run.sh exited with $status"
echo "selftest.sh: the bundle passes on the CPU" >&2
