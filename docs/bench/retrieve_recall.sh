#!/usr/bin/env bash
# retrieve_recall.sh: retrieval recall@3 on the leak-free test split, as `trainer eval --rag`
# measures it (index: the train split), with the focus boost's ablation (docs/retrieval.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./trainer data --input files/medquad_qa.csv.gz --out runs/splits >/dev/null
go run ./trainer kb --recall runs/splits
