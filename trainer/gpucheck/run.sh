#!/usr/bin/env bash
# medqa's GPU check, one command on a machine with PyTorch and a C++ compiler but no Go (see README.md
# beside this script): builds the libtorch shim against the local torch, runs each check in its own
# process under its own time limit, and prints one JSON object as its last line (also written to
# $OUT/gpu-check.json when OUT is set, with the checks' logs in $OUT/gpu-check-logs/).
#
#   ./run.sh                         on cuda (MEDQA_DEVICE=cuda:1 for another GPU)
#   MEDQA_DEVICE=cpu ./run.sh        the same checks on the CPU, on smaller shapes
#
# Environment: PYTHON (the python whose torch to use; default: the first of python3, /usr/bin/python3
# that imports torch), CXX (compiler), MEDQA_GPUCHECK_WORK (scratch folder; default: a new one in /tmp,
# whose models are deleted at the end), MEDQA_GPUCHECK_ONLY (e.g. "parity decode": run only these).
# Exit status: 0 when no check failed (skipped ones do not fail), 1 otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
device=${MEDQA_DEVICE:-cuda}
say() { echo "run.sh: $*" >&2; }

build_limit=120 # seconds; the checks' own limits (`trainer gpucheck list`) add up to 6 minutes more

work=${MEDQA_GPUCHECK_WORK:-}
own_work=false
if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/medqa-gpucheck.XXXXXX") || exit 1
	own_work=true
fi
mkdir -p "$work" && rm -f "$work"/*.json "$work"/*.rc "$work"/*.limit "$work"/*.log "$work/shim.err"
say "device $device, work folder $work"

# The reference side and the libtorch to build against: a python whose torch imports.
py=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' >/dev/null 2>&1; then py=$(command -v "$p"); break; fi
done
torch_dir=""
if [ -n "$py" ]; then
	torch_dir=$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
	say "python $py, torch $("$py" -c 'import torch; print(torch.__version__)') in $torch_dir"
fi

build_shim() {
	local cxx=${CXX:-}
	if [ -z "$cxx" ]; then
		for c in c++ g++ clang++; do command -v $c >/dev/null 2>&1 && { cxx=$c; break; }; done
	fi
	if [ -z "$cxx" ] || ! command -v "$cxx" >/dev/null 2>&1; then
		echo "no C++ compiler (looked for \$CXX${CXX:+=$CXX}, c++, g++, clang++); install g++" >"$work/shim.err"
		return 1
	fi
	local torch_arg
	if [ -n "$torch_dir" ] && [ -d "$torch_dir/include/torch" ]; then
		torch_arg=$torch_dir
	elif [ "$device" = cpu ] && [ -d /usr/include/torch ]; then
		torch_arg=system # Debian's libtorch-dev
	else
		echo "no libtorch to build against: no python (\$PYTHON, python3, /usr/bin/python3) imports a torch with include/ and lib/" >"$work/shim.err"
		return 1
	fi
	local t0=$SECONDS
	if ! CXX=$cxx PYTHON=${py:-python3} timeout -k 5 $build_limit "$here/shim/build.sh" -o "$work/libmedqa_torch.so" --torch "$torch_arg" >"$work/shim.log" 2>&1; then
		{ echo "shim/build.sh failed or passed ${build_limit}s:"; tail -c 1500 "$work/shim.log"; } >"$work/shim.err"
		return 1
	fi
	say "shim built in $((SECONDS - t0))s: $(tail -1 "$work/shim.log")"
}

if build_shim; then
	export MEDQA_TORCH_SHIM=$work/libmedqa_torch.so
	# The shim's rpath finds libtorch; pip's CUDA libraries (site-packages/nvidia/*/lib) normally come
	# through libtorch_cuda's own rpath, and are listed here too in case a wheel relies on python having
	# loaded them first.
	extra=${torch_dir:+$torch_dir/lib}
	for d in "$torch_dir"/../nvidia/*/lib; do [ -d "$d" ] && extra=$extra:$d; done
	export LD_LIBRARY_PATH=${extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	"$here/bin/trainer" gpucheck list >"$work/checks.txt" || say "bin/trainer does not run here"
	while read -r c l; do
		if [ -n "${MEDQA_GPUCHECK_ONLY:-}" ] && [[ " $MEDQA_GPUCHECK_ONLY " != *" $c "* ]]; then
			echo '{"ok":null,"reason":"left out by MEDQA_GPUCHECK_ONLY"}' >"$work/$c.json"
			continue
		fi
		# A CPU run is a smoke test, often on a small shared machine: give it twice the time.
		[ "$device" = cpu ] && l=$((l * 2))
		echo "$l" >"$work/$c.limit"
		t0=$SECONDS
		timeout -k 5 "$l" "$here/bin/trainer" gpucheck --device "$device" --work "$work" --bundle "$here" \
			--python "$py" --limit "${l}s" --out "$work/$c.json" "$c" </dev/null >"$work/$c.log" 2>&1
		echo $? >"$work/$c.rc"
		say "$c ($((SECONDS - t0))s of ${l}s): $(head -c 400 "$work/$c.json" 2>/dev/null || echo "no result, exit $(cat "$work/$c.rc")")"
	done <"$work/checks.txt"
else
	say "$(cat "$work/shim.err")"
fi

"$here/bin/trainer" gpucheck --work "$work" report >"$work/report.json" 2>"$work/report.log" ||
	{ say "the report failed: $(cat "$work/report.log")"; echo '{}' >"$work/report.json"; }
if [ -n "${OUT:-}" ]; then
	mkdir -p "$OUT/gpu-check-logs"
	cp "$work/report.json" "$OUT/gpu-check.json"
	cp "$work"/*.log "$work"/*.json "$OUT/gpu-check-logs/" 2>/dev/null
	[ -f "$work/server/backend.log" ] && cp "$work/server/backend.log" "$OUT/gpu-check-logs/"
fi
if $own_work; then rm -rf "$work/models" "$work/quantized" "$work/lora" "$work/peft"; fi
cat "$work/report.json"
! grep -q '"ok":false' "$work/report.json"
