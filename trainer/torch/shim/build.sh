#!/usr/bin/env bash
# Builds libmedqa_torch.so, medqa's libtorch shim, from the sources beside this script against one
# libtorch. Go never sees libtorch: the Go binaries load this library at run time (trainer/torch/load.go).
#
#   build.sh -o OUT.so                    libtorch from $LIBTORCH, else python3's torch package, else Debian's
#   build.sh -o OUT.so --torch system     Debian's libtorch-dev (/usr/include/torch, system libraries)
#   build.sh -o OUT.so --torch python     the torch package of `python3` ($PYTHON overrides)
#   build.sh -o OUT.so --torch DIR        a libtorch folder holding include/ and lib/ (a pip torch/ folder too)
#
# Environment: CXX (compiler, default c++ then g++ then clang++), CXXSTD (default c++17, c++20 for
# libtorch >= 2.11, whose headers move to C++20), ABI (0/1, _GLIBCXX_USE_CXX11_ABI; default: asked from
# python's torch, else read from libc10's symbols).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="" torch="${LIBTORCH:-auto}"
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	--torch) torch=$2; shift 2 ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "build.sh: unknown argument $1 (see build.sh -h)" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || { echo "build.sh: -o OUT.so is required" >&2; exit 2; }

die() { echo "build.sh: $*" >&2; exit 1; }

cxx=${CXX:-}
if [ -z "$cxx" ]; then
	for c in c++ g++ clang++; do
		if command -v $c >/dev/null 2>&1; then cxx=$c; break; fi
	done
fi
[ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1 || die "no C++ compiler (looked for \$CXX, c++, g++, clang++): install g++"

py=${PYTHON:-python3}
abi=${ABI:-}
python_torch() { # prints the torch package folder and its C++ ABI, or fails
	"$py" -c 'import torch, os; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null
}
if [ "$torch" = auto ]; then
	if info=$(python_torch) && [ -d "$(head -1 <<<"$info")/include/torch" ]; then torch=python
	elif [ -d /usr/include/torch ]; then torch=system
	else die "no libtorch found: set LIBTORCH=DIR or --torch DIR, install a torch for $py, or apt-get install libtorch-dev"
	fi
fi
case $torch in
system)
	[ -d /usr/include/torch ] || die "--torch system: /usr/include/torch missing (apt-get install libtorch-dev)"
	inc=/usr/include lib=""
	;;
python)
	info=$(python_torch) || die "--torch python: '$py -c \"import torch\"' failed"
	inc=$(head -1 <<<"$info")/include lib=$(head -1 <<<"$info")/lib
	abi=${abi:-$(tail -1 <<<"$info")}
	;;
*)
	[ -d "$torch/include/torch" ] && [ -d "$torch/lib" ] || die "--torch $torch: want a folder holding include/torch and lib/"
	inc=$torch/include lib=$torch/lib
	;;
esac
libdir=${lib:-/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)}
[ -e "$libdir/libc10.so" ] || die "libc10.so not in $libdir"
if [ -z "$abi" ]; then
	# libc10 exports functions taking std::string; the new ABI mangles them with [abi:cxx11].
	# (grep -c, not -q: an early exit would SIGPIPE nm and fail the pipeline under pipefail.)
	if [ "$(nm -D --defined-only "$libdir/libc10.so" 2>/dev/null | grep -c cxx11)" -gt 0 ]; then abi=1; else abi=0; fi
fi

vh=$inc/torch/csrc/api/include/torch/version.h
major=$(sed -n 's/^#define TORCH_VERSION_MAJOR \([0-9]*\).*/\1/p' "$vh" 2>/dev/null || true)
minor=$(sed -n 's/^#define TORCH_VERSION_MINOR \([0-9]*\).*/\1/p' "$vh" 2>/dev/null || true)
patch=$(sed -n 's/^#define TORCH_VERSION_PATCH \([0-9]*\).*/\1/p' "$vh" 2>/dev/null || true)
ver=${major:-?}.${minor:-?}.${patch:-?}
std=${CXXSTD:-c++17}
if [ -z "${CXXSTD:-}" ] && { [ "${major:-0}" -gt 2 ] || { [ "${major:-0}" -eq 2 ] && [ "${minor:-0}" -ge 11 ]; }; }; then std=c++20; fi

# The loader compares this with the hash of the sources its Go binary was built with (same files, same order).
sha=$(cd "$here" && LC_ALL=C ls -- *.cc *.h *.def | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-64)

links=(-ltorch -ltorch_cpu -lc10)
# A CUDA libtorch must be linked even though no symbol of it is used: its static initialisers register
# the CUDA backend, without which libtorch sees no GPU.
[ -e "$libdir/libtorch_cuda.so" ] && links=(-Wl,--no-as-needed -ltorch_cuda -Wl,--as-needed "${links[@]}")
rpath=()
[ -n "$lib" ] && rpath=(-L"$lib" -Wl,-rpath,"$lib")

mkdir -p "$(dirname "$out")"
tmpd=$(mktemp -d "$out.build.XXXXXX")
trap 'rm -rf "$tmpd"' EXIT
echo "build.sh: $(basename "$out") against libtorch ${ver:-?} in ${lib:-system libraries} ($cxx, -std=$std, cxx11 ABI $abi)" >&2
# -fvisibility=hidden exports the API alone; -Bsymbolic binds the shim's own calls to itself, never to the
# same-named wrappers in the Go binary that loads it.
flags=(-std="$std" -O2 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -Wno-deprecated-declarations
	-D_GLIBCXX_USE_CXX11_ABI="$abi" -DTT_SOURCE_SHA256="\"$sha\"" -I"$inc" -I"$inc/torch/csrc/api/include")

# dist.cc (c10d collectives) gets each backend whose headers exist: Gloo needs gloo/ (Debian's
# libgloo-dev, or a libtorch that ships it), NCCL needs nccl.h and a CUDA libtorch. A backend whose
# headers are there but do not compile with this libtorch is left out rather than failing the build.
if [ -e "$inc/gloo/algorithm.h" ] || [ -e /usr/include/gloo/algorithm.h ]; then gloo=1; else gloo=0; fi
nccl_inc=""
if [ -e "$libdir/libtorch_cuda.so" ]; then
	for d in "$inc" /usr/include /usr/local/cuda/include "$(dirname "$inc")/../nvidia/nccl/include"; do
		if [ -e "$d/nccl.h" ]; then nccl_inc=$d; break; fi
	done
fi
cuda_incs=()
for d in /usr/local/cuda/include "$(dirname "$inc")"/../nvidia/*/include; do [ -d "$d" ] && cuda_incs+=(-I"$d"); done
try_dist() { # try_dist NAME FLAGS...: compiles dist.cc into dist.o with FLAGS; prints NAME if it compiled
	local name=$1; shift
	"$cxx" "${flags[@]}" "$@" -c "$here/dist.cc" -o "$tmpd/dist.o" 2>"$tmpd/dist.log" && echo "$name"
}
build_dist() { # the richest dist.o that compiles; prints its backends
	if [ -n "$nccl_inc" ] && [ $gloo = 1 ] && try_dist "gloo nccl" -DUSE_C10D_GLOO -DUSE_C10D_NCCL -I"$nccl_inc" "${cuda_incs[@]}"; then return; fi
	if [ -n "$nccl_inc" ] && try_dist "nccl" -DUSE_C10D_NCCL -I"$nccl_inc" "${cuda_incs[@]}"; then return; fi
	if [ $gloo = 1 ] && try_dist "gloo" -DUSE_C10D_GLOO; then return; fi
	[ -s "$tmpd/dist.log" ] && sed 's/^/build.sh: (dist.cc, left without backends) /' "$tmpd/dist.log" | head -5 >&2
	"$cxx" "${flags[@]}" -c "$here/dist.cc" -o "$tmpd/dist.o" || return 1
	echo ""
}
# The sources compile in parallel (dist.cc's c10d headers are the slowest), then link.
pids=() objs=()
for f in "$here"/*.cc; do
	[ "$(basename "$f")" = dist.cc ] && continue
	o="$tmpd/$(basename "$f" .cc).o"
	objs+=("$o")
	"$cxx" "${flags[@]}" -c "$f" -o "$o" &
	pids+=($!)
done
build_dist >"$tmpd/backends" &
pids+=($!)
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ $failed = 0 ] || die "compiling the shim failed (messages above)"
backends=$(cat "$tmpd/backends")
echo "build.sh: distributed backends (c10d): ${backends:-none (install libgloo-dev for Gloo; NCCL needs a CUDA libtorch and nccl.h)}" >&2
"$cxx" "${flags[@]}" -shared "${objs[@]}" "$tmpd/dist.o" -o "$tmpd/lib.so" "${rpath[@]}" -Wl,-Bsymbolic "${links[@]}"
mv -f "$tmpd/lib.so" "$out"
rm -rf "$tmpd"
trap - EXIT
