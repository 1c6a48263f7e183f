#!/usr/bin/env bash
# The MoCoGAN paper's shape-motion comparison (ACD), reproduced with vidgan: train a recipe
# (mocogan-categorical unless RECIPE says otherwise, e.g. mocogan-plus) on the original
# shape-motion data, score the newest checkpoint with ACD and MCS, and print the table of
# RESULTS.md (paper rows, this run, real data).
#
#   benchmarks/shape_motion/reproduce.sh [DATA] [RUN_DIR] [STEPS] [RECIPE]
#
# DATA is the original data set (../shared/data/mocogan-shapes: 8000 frame strips, two
# motion classes). An interrupted run is continued with
#   vidgan run train.resume=RUN_DIR
# and then scored with the `vidgan eval` line below.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${1:-../shared/data/mocogan-shapes}
run=${2:-runs/shape-motion}
steps=${3:-1000}
recipe=${4:-mocogan-categorical}
if [ ! -d "$data" ]; then
    echo "no data set at '$data': pass the folder of the original shape-motion frame strips" >&2
    exit 2
fi
start=$(date +%s)
vidgan run recipe="$recipe" data.root="$data" train.steps="$steps" \
    train.checkpoint_every=50 train.keep_checkpoints=0 seed=0 run_dir="$run"
trained=$(date +%s)
vidgan eval "$run" metrics=[acd,mcs] num_videos=128 seed=0 data.root="$data"
done=$(date +%s)
python "$here/table.py" "$run/eval.json" --train-seconds $((trained - start)) --eval-seconds $((done - trained))
