# Sourced by the benchmark scripts that drive the trainer CLI: from the repository root, builds
# $work/trainer (so compiling is not timed) and the shipped MedQuAD splits in
# $work/splits, in a temporary $work removed on exit.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/trainer" ./trainer
"$work/trainer" data --input files/medquad_qa.csv.gz --out "$work/splits" >/dev/null
