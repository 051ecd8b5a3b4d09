#!/usr/bin/env bash
# The book's GPU checks, in one run of a few minutes on a machine with an NVIDIA GPU:
#   1. the device-parametrized PyTorch tests on CUDA (tests/torch_bn, tests/precision; CUDA cases only),
#   2. the parity checks on CUDA      -> book/results/parity_cuda.json
#   3. the speed measurements on CUDA -> book/results/speed_cuda.json
# Both files carry provenance (GPU name, torch and CUDA versions, commit); commit them,
# then re-execute book/implementation/03_agreement_with_pytorch.ipynb and 05_speed.ipynb.
#
# Usage (from anywhere in the repository):
#   scripts/gpu_checks.sh                      # the real run: needs torch.cuda.is_available()
#   scripts/gpu_checks.sh --device cpu --out-dir /tmp/x --quick
#                                              # the same steps on the CPU with tiny sizes;
#                                              # tests/benchmark/test_gpu_script.py runs this
# Options: --device DEV (default cuda), --out-dir DIR (default book/results),
#          --quick (tiny benchmark sizes, skips the pytest step; refuses book/results),
#          --python PY (default .venv/bin/python if present, else python).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEVICE=cuda
OUT_DIR=book/results
QUICK=0
PY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --out-dir) OUT_DIR="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --python) PY="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python; fi
fi

"$PY" - "$DEVICE" <<'PYEOF'
import sys, torch
dev = sys.argv[1]
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, cuda available: {torch.cuda.is_available()}")
if dev.startswith("cuda"):
    if not torch.cuda.is_available():
        sys.exit("no CUDA device visible to torch: nothing to check (the book keeps saying the GPU checks have not run)")
    print("GPU:", torch.cuda.get_device_name(0))
PYEOF

mkdir -p "$OUT_DIR"
start=$(date +%s)
PYTEST_RC=0
if [[ "$QUICK" == 0 ]]; then
  echo "== 1/3 pytest, device $DEVICE"
  # A failing test must not stop the run: the parity file records every error either way,
  # and the script's exit status reports the test failure at the end.
  "$PY" -m pytest tests/torch_bn tests/precision -q -p no:cacheprovider -k "$DEVICE" || PYTEST_RC=$?
  BENCH_FLAGS=()
else
  echo "== 1/3 pytest skipped (--quick)"
  BENCH_FLAGS=(--quick)
fi
echo "== 2/3 parity, device $DEVICE"
"$PY" -m bn.torch_bn.parity --device "$DEVICE" --out "$OUT_DIR/parity_${DEVICE}.json"
echo "== 3/3 speed, device $DEVICE"
"$PY" -m bn.benchmark --device "$DEVICE" --out "$OUT_DIR/speed_${DEVICE}.json" "${BENCH_FLAGS[@]}"
echo "done in $(( $(date +%s) - start )) s: $OUT_DIR/parity_${DEVICE}.json $OUT_DIR/speed_${DEVICE}.json"
if [[ "$PYTEST_RC" != 0 ]]; then
  echo "pytest reported failures (exit status $PYTEST_RC): see its output above" >&2
  exit "$PYTEST_RC"
fi
