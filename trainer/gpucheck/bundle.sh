#!/usr/bin/env bash
# Writes the GPU bundle (`make gpu-bundle`): everything a machine with PyTorch and a C++ compiler but no
# Go needs to check medqa on its GPU, within the 60 MiB that may travel there.
#
#   trainer/gpucheck/bundle.sh OUT_DIR
#
# OUT_DIR/  run.sh  README.md (docs/gpu.md)  bin/{trainer,backend}  shim/ (sources + build.sh)
#           ref/{ref.py,qwen2_peer.py}  testdata/tiny-qwen2/
# The folder is assembled beside OUT_DIR and renamed into place, so a failed build leaves the old one.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: bundle.sh OUT_DIR}
max_mib=60
GO=${GO:-go}

need() { [ -e "$1" ] || { echo "bundle.sh: $1 is missing ($2)" >&2; exit 1; }; }
need trainer/qwen2/testdata/tiny-qwen2/reference_logits.json "the tiny-qwen2 fixture"
need trainer/qwen2/peer/qwen2_peer.py "the project's PyTorch-eager peer"

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/shim" "$tmp/ref" "$tmp/testdata"
# -trimpath: the binaries must not look for the shim in this repository (run.sh names it);
# -s -w: no symbol tables, which the size limit has no room for.
for cmd in trainer backend; do
	CGO_ENABLED=1 $GO build -trimpath -ldflags='-s -w' -o "$tmp/bin/$cmd" "./$cmd"
	if ldd "$tmp/bin/$cmd" | grep -Eq 'libtorch|libc10'; then
		echo "bundle.sh: bin/$cmd links libtorch:" >&2
		ldd "$tmp/bin/$cmd" >&2
		exit 1
	fi
done
cp trainer/torch/shim/*.cc trainer/torch/shim/*.h trainer/torch/shim/*.def trainer/torch/shim/build.sh "$tmp/shim/"
cp trainer/gpucheck/ref.py trainer/qwen2/peer/qwen2_peer.py "$tmp/ref/"
cp -r trainer/qwen2/testdata/tiny-qwen2 "$tmp/testdata/"
cp trainer/gpucheck/run.sh "$tmp/run.sh"
cp docs/gpu.md "$tmp/README.md"
chmod -R u+w "$tmp" && chmod +x "$tmp/run.sh" "$tmp/shim/build.sh"

bytes=$(du -sb "$tmp" | cut -f1)
if [ "$bytes" -gt $((max_mib << 20)) ]; then
	echo "bundle.sh: the bundle holds $bytes bytes, over $max_mib MiB:" >&2
	du -ab "$tmp" | sort -n | tail -5 >&2
	exit 1
fi
rm -rf "$out"
mv "$tmp" "$out"
glibc=$(objdump -T "$out/bin/trainer" "$out/bin/backend" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
awk -v b="$bytes" -v o="$out" -v m=$max_mib -v g="${glibc:-?}" \
	'BEGIN { printf "bundle.sh: %s: %.1f MiB (limit %d MiB); the binaries need %s or newer\n", o, b / 1048576, m, g }'
