#!/usr/bin/env bash
# Issue 13's checks on a GPU in one call: the re-ranked evaluation at
# MSMT17's size (93,820 x 2048) and the full BoT recipe end to end
# (`mim train` then `mim test` with re-ranking) on a synthetic data set of
# Market-1501's size (benchmarks/configs/), with the time of an iteration,
# the loader's share, images/s and peak GPU memory per epoch.
#
# Run from the repository root where `python3 -c "import mmreid_tricks"` and
# `mim` work; on the lent H200 (no network) that means carrying the wheels
# of mmengine, mmpretrain, mmcv-lite, openmim and their missing needs, and
# installing them with this package first (see the device tool's README).
#     EPOCHS=2 bash benchmarks/gpu_recipe.sh "$OUT"
# Every step at toy sizes on the CPU (what was checked where no GPU was lent):
#     DEVICE=cpu RERANK_SIZE=2000 EPOCHS=1 \
#         CONFIG=tests/data/configs/tiny_synthetic.py \
#         bash benchmarks/gpu_recipe.sh /tmp/recipe_smoke
# The synthetic data set is generated on first use (about 2 minutes on 2
# CPU cores at full size) under the config's data_root.
set -euo pipefail
out=${1:?usage: gpu_recipe.sh OUTPUT_FOLDER}
device=${DEVICE:-cuda}
epochs=${EPOCHS:-2}
config=${CONFIG:-benchmarks/configs/bot_resnet50_synthetic-market1501-size.py}
work=${WORK_DIR:-/tmp/gpu_recipe_work}
export PYTHONUNBUFFERED=1
mkdir -p "$out"

python3 benchmarks/rerank_benchmark.py --sizes "${RERANK_SIZE:-93820}" \
    --layout msmt17 --device "$device" | tee "$out/rerank_msmt17.txt"

start=$(date +%s)
mim train mmreid_tricks "$config" --work-dir "$work" --cfg-options \
    train_cfg.max_epochs="$epochs" train_cfg.val_interval="$epochs" \
    default_hooks.checkpoint.interval="$epochs" 2>&1 | tee "$out/train.log"
middle=$(date +%s)
mim test mmreid_tricks "$config" --checkpoint "$work/epoch_$epochs.pth" \
    --work-dir "$work" --out "$out/metrics.json" 2>&1 | tee "$out/test.log"
end=$(date +%s)

python3 benchmarks/recipe_summary.py "$work" --metrics "$out/metrics.json" \
    --train-seconds $((middle - start)) --test-seconds $((end - middle)) |
    tee "$out/summary.txt"
