#!/usr/bin/env bash
# The GPU check, as one command for a machine with an NVIDIA GPU (sized for under 10 minutes on an H200):
# build ganzoo with its CUDA kernels, run the CUDA tests, a short GPU training run (fp32, bf16, fp16), a 2-process run,
# the tail benchmark (CUDA events, memory floor) and the benchmark suite on CUDA (--quick, each timed call synchronised).
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]          (default: $OUT, else gpu-check/)
#
# Uses the machine's own python3 and torch (set PYTHON to choose another); builds for TORCH_CUDA_ARCH_LIST (default 9.0).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-gpu-check}}
mkdir -p "$out"
PY=${PYTHON:-python3}
export GANZOO_CUDA=1 TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} MAX_JOBS=${MAX_JOBS:-16} PYTHONUNBUFFERED=1
status=0

echo "== environment"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
} 2>&1 | tee "$out/env.txt"

echo "== build (CUDA kernels for $TORCH_CUDA_ARCH_LIST)"
start=$(date +%s)
if ! $PY -m pip install --no-build-isolation --no-deps -e . > "$out/build.log" 2>&1; then
  tail -40 "$out/build.log"; echo "gpu_check: build failed"; exit 1
fi
echo "built in $(( $(date +%s) - start )) s"
$PY -m ganzoo doctor | tee "$out/doctor.txt"

echo "== CUDA tests"
$PY -m pytest -q -m cuda tests/ops 2>&1 | tail -15 | tee "$out/tests.txt" || status=1

echo "== a short training run on the GPU (wgan_gp on digits 32x32, fused vs --no-fused)"
for fused in --fused --no-fused; do
  $PY -m ganzoo train --arch wgan_gp --dataset digits --image-size 32 --steps 100 --device cuda --quiet $fused \
    --val-every 0 --sample-every 0 --out "$out/run$fused" 2>&1 | tail -2 | tee -a "$out/train.txt" || status=1
  $PY -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print(sys.argv[2], 'samples/s', round(r['samples_per_s']))" \
    "$out/run$fused/metrics.jsonl" "$fused" | tee -a "$out/train.txt"
done

echo "== mixed precision on the GPU (bf16 and fp16 with loss scaling; the same run as above, fused)"
for precision in bf16 fp16; do
  $PY -m ganzoo train --arch wgan_gp --dataset digits --image-size 32 --steps 100 --device cuda --quiet \
    --precision $precision --val-every 0 --sample-every 0 --out "$out/run-$precision" 2>&1 | tail -1 | tee -a "$out/train.txt" || status=1
  $PY -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print(sys.argv[2], 'samples/s', round(r['samples_per_s']), 'd_loss', r['d_loss'])" \
    "$out/run-$precision/metrics.jsonl" "$precision" | tee -a "$out/train.txt"
done
$PY -m pytest -q tests/train/test_precision.py 2>&1 | tail -3 | tee -a "$out/tests.txt" || status=1

echo "== multi-process: 2 ranks (NCCL when the machine has 2 GPUs, else gloo on its CPU cores)"
gpus=$($PY -c "import torch; print(torch.cuda.device_count())")
if [ "$gpus" -ge 2 ]; then dev=cuda; else dev=cpu; fi
$PY -m ganzoo train --nproc 2 --device $dev --arch wgan_gp --dataset digits --image-size 32 --steps 50 --batch-size 32 \
  --quiet --val-every 0 --sample-every 0 --log-every 10 --out "$out/run-ddp-$dev" 2>&1 | tail -1 | tee -a "$out/train.txt" || status=1
$PY -m pytest -q tests/train/test_distributed.py 2>&1 | tail -3 | tee -a "$out/tests.txt" || status=1

echo "== the non-finite guard's rollback snapshot on the GPU (pinned CPU buffers against the old deep copy)"
$PY -m benchmarks.guard_snapshot --device cuda --rounds 2 2>&1 | tee "$out/guard_snapshot_cuda.txt" || status=1

echo "== ganzoo against the plain eager loop on the GPU (ring and digits, 3 rounds in alternation)"
$PY -m benchmarks.iteration --device cuda --variants ganzoo ganzoo_double_backward peer --rounds 3 2>&1 \
  | tee "$out/iteration_cuda.txt" || status=1

echo "== benchmark: the penalty tail, fwd+bwd, on CUDA"
$PY benchmarks/bench_tail.py --device cuda --json "$out/bench_tail_cuda.json" | tee "$out/bench_tail_cuda.md" || status=1

echo "== benchmark suite on CUDA (ganzoo bench --quick --device cuda)"
timeout 300 $PY -m ganzoo bench --quick --device cuda | tee "$out/bench_suite_cuda.txt" || status=1
exit $status
