#!/usr/bin/env bash
# Everything that needs a GPU, in one prepared run of under 9 minutes (issues 13, 21 and 24: erase, bake, train step,
# CAM backends, online maps; then the per-sample training step of bench_train_step.py).
#
# On the lent machine (from the repository root, the working tree copied there, .whl carried):
#   bash benchmarks/gpu.sh                      # parts a (erase), b (bake), c (train), d (CAM backends), e (online);
#                                               # JSON to $OUT/gpu.json
#   bash benchmarks/gpu.sh --parts c            # any arguments go to benchmarks/bench_gpu.py
# Here, once, before the run (the lent machine has no internet and no grad-cam/ttach):
#   bash benchmarks/gpu.sh --fetch-wheels       # grad-cam and ttach as wheels in .whl/ (git-ignored)
# Smoke run of every code path on a CPU:
#   PYTHON=.venv/bin/python TRAIN_STEP_ARGS="--synthetic 16 --device cpu --batch 4 --blocks 1 --steps 1" \
#       bash benchmarks/gpu.sh --device cpu --quick
#
# Prints what the machine has, installs carried wheels to $SITE (default /tmp/site), runs bench_gpu.py under a
# hard limit of $LIMIT_S seconds (default 420) so the caller's timeout is never what stops it, tees the log to
# $OUT/gpu.log, and ends with the markdown table for benchmarks/RESULTS.md; then bench_train_step.py (limit
# $TRAIN_STEP_S, default 90 s; arguments $TRAIN_STEP_ARGS) to $OUT/train_step.json.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
PYTHON=${PYTHON:-python3}
SITE=${SITE:-/tmp/site}
LIMIT_S=${LIMIT_S:-420}
TRAIN_STEP_S=${TRAIN_STEP_S:-90}
TRAIN_STEP_ARGS=${TRAIN_STEP_ARGS:---synthetic 800 --device cuda}
GRAD_CAM=1.5.7
TTACH=0.0.3

if [[ "${1:-}" == "--fetch-wheels" ]]; then
    # grad-cam publishes only an sdist on PyPI: build its (pure Python) wheel here; ttach has a py3 wheel.
    # Their other needs (numpy, Pillow, torch, torchvision, tqdm, opencv-python-headless, matplotlib,
    # scikit-learn, scipy) are in the lent machine's image.
    set -e
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p .whl
    "$PYTHON" -m pip download -q --no-deps --no-binary=:all: -d "$tmp" "grad-cam==$GRAD_CAM"
    "$PYTHON" -m pip wheel -q --no-deps -w .whl "$tmp"/grad_cam-"$GRAD_CAM".tar.gz
    "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        -d .whl "ttach==$TTACH"
    ls -l .whl
    exit 0
fi

echo "== machine"
date -u '+%Y-%m-%d %H:%M:%S UTC'
"$PYTHON" --version
"$PYTHON" - <<'EOF'
import importlib
for name in ("torch", "torchvision", "timm", "cv2", "numpy", "safetensors", "tqdm", "matplotlib", "sklearn"):
    try:
        print(f"{name:12s} {getattr(importlib.import_module(name), '__version__', '?')}")
    except Exception as exc:
        print(f"{name:12s} MISSING ({type(exc).__name__}: {exc})")
import torch
print("cuda", torch.version.cuda, "available:", torch.cuda.is_available(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else "")
EOF
if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
else
    echo "nvidia-smi: not found"
fi

export PYTHONPATH=src
if compgen -G ".whl/*.whl" >/dev/null; then
    echo "== installing carried wheels to $SITE: $(cd .whl && echo *.whl)"
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        .whl/*.whl || { echo "error: installing .whl/*.whl failed"; exit 3; }
    export PYTHONPATH="src:$SITE"
fi
if ! "$PYTHON" -c "import pytorch_grad_cam, ttach" 2>/dev/null; then
    echo "error: pytorch_grad_cam/ttach not importable (primary_mask needs them): run"
    echo "  bash benchmarks/gpu.sh --fetch-wheels   here, then carry .whl with the run"
    exit 3
fi

echo "== bench_gpu.py $*"
log=${OUT:+$OUT/gpu.log}
PYTHONUNBUFFERED=1 timeout -k 10 "$LIMIT_S" "$PYTHON" benchmarks/bench_gpu.py "$@" 2>&1 | tee "${log:-/dev/null}"
rc=${PIPESTATUS[0]}
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "bench_gpu.py stopped after $LIMIT_S s; the JSON holds the parts that finished"
fi

# Issue 21's training step as users feel it: the per-sample path (DataLoader workers erase on the CPU) under a GPU
# model, on drawn faces (the lent machine has no data). Its own limit, so part (a)-(e)'s figures are never at risk.
# TRAIN_STEP_S=0 skips it; arguments after --out win over it (argparse keeps the last).
step_rc=0
if [[ "$TRAIN_STEP_S" != 0 ]]; then
    read -ra step_args <<<"$TRAIN_STEP_ARGS"
    echo "== bench_train_step.py ${step_args[*]}"
    PYTHONUNBUFFERED=1 timeout -k 10 "$TRAIN_STEP_S" "$PYTHON" benchmarks/bench_train_step.py \
        --out "${OUT:-benchmarks/out}/train_step.json" "${step_args[@]}" 2>&1 | tee -a "${log:-/dev/null}"
    step_rc=${PIPESTATUS[0]}
    [[ $step_rc -eq 0 ]] || echo "bench_train_step.py failed or stopped (exit $step_rc)"
fi
[[ $rc -ne 0 ]] && exit "$rc"
exit "$step_rc"
