#!/bin/bash
# samples/s of wgan_gp on ring, global batch 256: 1 process (2 threads), 1 process (1 thread), 2 processes (1 thread each).
# Results: benchmarks/RESULTS.md, "Multi-process training on the 2-core CPU".
cd "$(dirname "$0")/.."
common="--arch wgan_gp --dataset ring --steps 300 --quiet --val-every 0 --sample-every 0 --log-every 100 --checkpoint-every 0"
rate() { python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if 'samples_per_s' in l]; print(' '.join(str(round(x['samples_per_s'])) for x in r))" $1/metrics.jsonl; }
for rep in 1 2; do
  rm -rf "${TMPDIR:-/tmp}"/tp1 "${TMPDIR:-/tmp}"/tp1t "${TMPDIR:-/tmp}"/tp2
  .venv/bin/ganzoo train $common --batch-size 256 --out "${TMPDIR:-/tmp}"/tp1 >/dev/null 2>&1; echo "rep $rep 1 proc x 2 threads: $(rate "${TMPDIR:-/tmp}"/tp1)"
  OMP_NUM_THREADS=1 .venv/bin/ganzoo train $common --batch-size 256 --out "${TMPDIR:-/tmp}"/tp1t >/dev/null 2>&1; echo "rep $rep 1 proc x 1 thread: $(rate "${TMPDIR:-/tmp}"/tp1t)"
  .venv/bin/ganzoo train --nproc 2 $common --batch-size 128 --out "${TMPDIR:-/tmp}"/tp2 >/dev/null 2>&1; echo "rep $rep 2 procs x 1 thread: $(rate "${TMPDIR:-/tmp}"/tp2)"
done
