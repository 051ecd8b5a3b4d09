#!/usr/bin/env bash
# One-shot run of the Part III experiments' `gpu` profile on a CUDA machine (Colab or any GPU box).
# Writes book/results/<experiment>_gpu.json next to the committed cpu results; commit them with
# the machine named in the commit message. Not yet run: its duration on a GPU is unmeasured
# (the cpu profile's runs are 12x shorter and half as wide).
#
#   BN_DATA_DIR=/path/holding/cifar-10-batches-py  bash scripts/gpu_experiments.sh
#
# Without BN_DATA_DIR the official CIFAR-10 is downloaded (MD5-verified) to ~/.cache/bn-book.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: this script is for a GPU machine')"
if [ -z "${BN_DATA_DIR:-}" ]; then
  "$PY" -c "from bn.data import load_cifar10; load_cifar10('train')"  # downloads once, verifies MD5s
fi
# cuDNN picks its fastest kernels; GPU results are therefore reproducible only statistically.
# convergence first: the base rate of the experiments after it is its chosen rate (read from
# book/results/convergence_gpu.json); fig1_equal_rates reads fig1_mlp_gpu's rates and
# long_training sigmoid_gpu's, so they come after those.
for name in convergence learning_rates sigmoid initialization recipe fig1_mlp fig1_equal_rates long_training; do
  echo "== $name $(date -u +%T)"
  "$PY" -m bn.experiments run "$name" --profile gpu --device cuda --threads 4
done
echo "== done $(date -u +%T); results in book/results/*_gpu.json"
