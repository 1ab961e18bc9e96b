#!/usr/bin/env bash
# Checks a self-hosted GPU runner end to end before it trains for real: CUDA training of one or more
# profiles on a dataset built by `fleetcast train --work-dir`/`npm run bench -- train --work-dir DIR`
# (DIR/work/dataset), the torch 2.x ONNX export checked in Python onnxruntime when it is installed,
# and the DistributedDataParallel path on NCCL when the machine has two or more GPUs.
#
#   scripts/gpu-runner-check.sh DATASET_DIR OUT_DIR [RUN ...]
#   RUN = PROFILE[@SEED], or FILE#PROFILE[@SEED] for a profile in another file (bench/trainer-variants.json)
#
# Writes OUT_DIR/<profile>-s<seed>/ (the trainer output: model.onnx, parity.json, train_report.json,
# normalization.json), train logs, and OUT_DIR/summary.jsonl (one line per run). Score a run's model on
# the held-out window here or on any machine with Node:
#   npm run bench -- train --trainer-output OUT_DIR/<run>   (same generated fleet as the dataset)
#   npm run bench -- parity --dir OUT_DIR/<run>             (onnxruntime-node against the torch outputs)
# GPU_CHECK_BUDGET_SECONDS (default 480) skips the runs that would start after the budget is spent;
# GPU_CHECK_DEVICE=cpu rehearses the script on a machine without a GPU.
set -euo pipefail

dataset=${1:?usage: gpu-runner-check.sh DATASET_DIR OUT_DIR [RUN ...]}
out=${2:?usage: gpu-runner-check.sh DATASET_DIR OUT_DIR [RUN ...]}
shift 2
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(default@0)
budget=${GPU_CHECK_BUDGET_SECONDS:-480}
device=${GPU_CHECK_DEVICE:-cuda}
root=$(cd "$(dirname "$0")/.." && pwd)
py=${FLEETCAST_PYTHON:-python3}
dataset=$(cd "$dataset" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
export PYTHONUNBUFFERED=1 PYTHONPATH="$root/trainer${PYTHONPATH:+:$PYTHONPATH}"
cd "$root/trainer"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$py" - "$device" <<'PY'
import sys, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "gpus", torch.cuda.device_count())
sys.exit(0 if sys.argv[1] != "cuda" or torch.cuda.is_available() else "CUDA is not available to this python")
PY

summary="$out/summary.jsonl"
: >"$summary"
for spec in "${runs[@]}"; do
  if [ "$SECONDS" -ge "$budget" ]; then
    echo "gpu-runner-check: ${SECONDS}s spent of ${budget}s; skipping $spec" >&2
    continue
  fi
  seed=0
  [[ "$spec" == *@* ]] && seed=${spec##*@} && spec=${spec%@*}
  profiles=(--profiles "$root/trainer/profiles.json")
  profile=$spec
  if [[ "$spec" == *#* ]]; then
    profiles=(--profiles "$root/${spec%%#*}")
    profile=${spec##*#}
  fi
  name="$profile-s$seed"
  echo "gpu-runner-check: training $name on $device" >&2
  "$py" -m fleetcast_trainer.train --dataset "$dataset" --out "$out/$name" --profile "$profile" \
    "${profiles[@]}" --seed "$seed" --device "$device" >"$out/$name.events.jsonl" 2> >(tee "$out/$name.log" >&2)
  parity="not checked (no Python onnxruntime)"
  if "$py" -c 'import onnxruntime' 2>/dev/null; then
    "$py" -m fleetcast_trainer.check_onnx --dir "$out/$name" | tee "$out/$name.parity.jsonl"
    parity=$("$py" -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(max(r["max_error"] for r in rows))' "$out/$name.parity.jsonl")
  fi
  "$py" - "$out/$name/train_report.json" "$name" "$parity" >>"$summary" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
secs = [e["seconds"] for e in r["epochs"]]
print(json.dumps({"run": sys.argv[2], "device": r["device_name"], "torch": r["torch_version"],
                  "epochs": len(secs), "best_epoch": r["best_epoch"], "stopped_by": r["convergence"]["stopped_by"],
                  "seconds_per_epoch": round(sum(secs) / len(secs), 2), "train_seconds": r["durations"].get("train_seconds"),
                  "total_seconds": r["durations"]["total_seconds"], "onnx_parity_max_error": sys.argv[3]}))
PY
done

gpus=$("$py" -c 'import torch; print(torch.cuda.device_count())')
if [ "$device" = cuda ] && [ "$gpus" -ge 2 ] && [ "$SECONDS" -lt "$budget" ]; then
  echo "gpu-runner-check: DistributedDataParallel on NCCL, $gpus processes, 1 epoch" >&2
  "$py" -m torch.distributed.run --standalone --nproc_per_node="$gpus" -m fleetcast_trainer.train \
    --dataset "$dataset" --out "$out/ddp-nccl" --profile default --epochs 1 --device cuda >"$out/ddp-nccl.events.jsonl"
  echo '{"run": "ddp-nccl", "ok": true}' >>"$summary"
elif [ "$device" = cuda ]; then
  echo "gpu-runner-check: one GPU; the NCCL DistributedDataParallel path needs two (gloo on CPU is in the test suite)" >&2
fi
cat "$summary"
