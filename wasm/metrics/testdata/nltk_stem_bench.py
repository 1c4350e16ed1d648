"""Python peer of BenchmarkStemMedQuAD: NLTK 3.8's PorterStemmer as rouge_score
uses it (tokens longer than three characters) on the rouge tokens of the same
10,000 MedQuAD answers. Usage (from the repository root):
python3 wasm/metrics/testdata/nltk_stem_bench.py files/medquad_qa.csv.gz"""
import csv
import gzip
import re
import sys
import time

from nltk.stem import porter

st = porter.PorterStemmer()
with (gzip.open if sys.argv[1].endswith(".gz") else open)(sys.argv[1], "rt", newline="", encoding="utf-8") as f:
    answers = [r["answer"] for r in csv.DictReader(f)]
toks = []
for i in range(10000):
    toks += [t for t in re.split(r"\s+", re.sub(r"[^a-z0-9]+", " ", answers[i % len(answers)].lower())) if t]
t0 = time.perf_counter()
for t in toks:
    if len(t) > 3:
        st.stem(t)
dt = time.perf_counter() - t0
print(f"{len(toks)} tokens in {dt:.2f} s: {len(toks) / dt:,.0f} tokens/s")
