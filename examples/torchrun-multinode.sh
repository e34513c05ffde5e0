#!/bin/bash
# Multi-node torchrun without SLURM: run this on every node with NODE_RANK set.
#
#   NODE_RANK=0 NNODES=2 HEAD=10.0.0.1 DATA=/data/input_ids.npy MAX_STEPS=10000 \
#       examples/torchrun-multinode.sh
#
# Each node writes its own RUN_DIR/telemetry/<node>.* files; RUN_DIR must be on
# a file system every node sees, and `olmo-green report RUN_DIR` merges them.
set -euo pipefail

: "${NODE_RANK:?}" "${NNODES:?}" "${HEAD:?}" "${DATA:?}"
MAX_STEPS=${MAX_STEPS:?set MAX_STEPS to the optimizer step to train up to (the default config stops at 200)}
HARDWARE=${HARDWARE:-h100}
# --data takes one path: repeat it for each (DATA may list several, space-separated).
read -ra DATA_PATHS <<< "$DATA"
DATA_ARGS=()
for path in "${DATA_PATHS[@]}"; do DATA_ARGS+=(--data "$path"); done
RUN_DIR=${RUN_DIR:-runs/olmo-1b-${HARDWARE}}

torchrun --nnodes="$NNODES" --node-rank="$NODE_RANK" --nproc-per-node=8 \
    --master-addr="$HEAD" --master-port=29500 \
    "$(command -v olmo-green)" train --model olmo-1b --hardware "$HARDWARE" \
    "${DATA_ARGS[@]}" --max-steps "$MAX_STEPS" --run-dir "$RUN_DIR" --save-interval 1000 ${RESUME:+--resume}
