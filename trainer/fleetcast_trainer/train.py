"""Trains the TFT on a dataset directory and writes model.onnx, normalization.json, parity.json and
train_report.json into --out.

python3 -m fleetcast_trainer.train --dataset DIR --out DIR --profile smoke|default [--epochs N]
    [--seed S] [--device auto|cpu|cuda] [--threads N]

stdout: one JSON object per line (events start, epoch, done; error on failure).
stderr: human-readable progress. Exit codes: 0 ok, 2 bad dataset/arguments (before training), 1 other.
"""

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone

import numpy as np
import torch

from . import __version__
from .data import gather, hide_ids, load_dataset, split_windows, window_range_epochs
from .ddp import all_reduce_sum, any_rank, barrier, init_distributed, shutdown, wrap
from .errors import DatasetError
from .ema import swapped_in, weight_average
from .evaluate import forward_loss, mean_ratio, q_risk_report, to_tensors, validation_loss
from .export import (INPUT_NAMES, OUTPUT_NAMES, export_onnx, normalization_doc, parity_inputs, write_parity)
from .features import KNOWN_FEATURES
from .io import json_safe, write_json_atomic
from .model_factory import build_model
from .profiles import PROFILES_PATH, get_profile

CONVERGENCE_CRITERION = (
    "all losses finite; best validation loss at least convergence_min_improvement (relative) below the "
    "validation loss of the untrained model; and the run plateaued: early stopping fired, or the best "
    "validation loss improved by at most convergence_plateau_tolerance (relative) over the last "
    "early_stopping_patience epochs"
)


class TrainStep(torch.nn.Module):
    """Wraps the model so DistributedDataParallel sees the training forward pass."""

    def __init__(self, model, quantiles, weighting="none"):
        super().__init__()
        self.model = model
        self.quantiles = quantiles
        self.weighting = weighting

    def forward(self, t):
        return forward_loss(self.model, t, self.quantiles, self.weighting)


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def emit(ctx, event):
    if ctx.is_main:
        sys.stdout.write(json.dumps(json_safe(event), allow_nan=False) + "\n")
        sys.stdout.flush()


def say(ctx, text):
    if ctx.is_main:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="fleetcast_trainer.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, help="directory with dataset.json and dataset.f32")
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--profile", default="default", help="profile in trainer/profiles.json")
    ap.add_argument("--epochs", type=int, default=None, help="override the profile's max_epochs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    ap.add_argument("--profiles", default=PROFILES_PATH, help="profiles file (default: trainer/profiles.json)")
    return ap.parse_args(argv)


def pick_device(choice):
    if choice == "cuda" and not torch.cuda.is_available():
        raise DatasetError("--device cuda: CUDA is not available")
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda")


def convergence(epochs, initial_val, stopped_by, profile):
    vals = [e["val_loss"] for e in epochs]
    finite = all(np.isfinite([e["train_loss"] for e in epochs] + vals + [initial_val]))
    best = min(vals) if vals else float("nan")
    improvement = (1.0 - best / initial_val) if finite and initial_val > 0 else None
    k = profile["early_stopping_patience"]
    if len(vals) > k:
        before = min(vals[:-k])
        recent = (before - best) / abs(before) if before else 0.0
    else:
        recent = None
    plateau = stopped_by == "early_stopping" or (recent is not None and recent <= profile["convergence_plateau_tolerance"])
    converged = bool(finite and improvement is not None and improvement >= profile["convergence_min_improvement"]
                     and plateau)
    return converged, {
        "criterion": CONVERGENCE_CRITERION,
        "initial_val_loss": initial_val if np.isfinite(initial_val) else None,
        "best_val_loss": best if np.isfinite(best) else None,
        "relative_improvement": improvement,
        "min_improvement": profile["convergence_min_improvement"],
        "recent_relative_improvement": recent,
        "plateau_tolerance": profile["convergence_plateau_tolerance"],
        "plateau_epochs": k,
        "stopped_by": stopped_by,
        "finite": bool(finite),
    }


def run(args):
    started = time.time()
    started_at = now_iso()
    device = pick_device(args.device)
    ctx, device = init_distributed(device)
    threads = args.threads
    if threads is not None and threads <= 0:
        raise DatasetError("--threads must be a positive integer")
    if threads is None:
        # all cores, split between the local processes of a CPU torchrun so ranks do not oversubscribe
        local_procs = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if device.type == "cpu" else 1
        threads = max(1, (os.cpu_count() or 1) // local_procs)
    torch.set_num_threads(threads)
    doc, profile = get_profile(args.profile, args.profiles)
    if args.epochs is not None:
        if args.epochs <= 0:
            raise DatasetError("--epochs must be a positive integer")
        profile["max_epochs"] = args.epochs
    targets, quantiles = doc["targets"], doc["quantiles"]
    log1p = {f for f, n in doc["normalization"].items() if n["transform"] == "log1p"}

    t0 = time.time()
    dataset = load_dataset(args.dataset, targets, log1p, profile["resolution_seconds"])
    missing = [f for f in dataset.features if f not in doc["normalization"]]
    if missing:
        raise DatasetError(f"dataset.json: feature {missing[0]} has no normalization entry in trainer/profiles.json")
    L, H = profile["lookback_steps"], profile["horizon_steps"]
    train_idx, val_idx = split_windows(dataset, L, H, profile["validation_steps"])
    load_seconds = time.time() - t0
    observed = dataset.features
    cfg = {"lookback": L, "horizon": H, "obs_idx": list(range(len(observed))),
           "target_idx": [observed.index(t) for t in targets], "quantiles": quantiles,
           "batch_size": profile["batch_size"], "loss_weighting": profile["loss_weighting"]}

    # validation subset: fixed (seeded), capped, sharded over ranks
    vrng = np.random.default_rng(args.seed + 7919)
    if len(val_idx) > profile["validation_windows"]:
        val_idx = val_idx.subset(np.sort(vrng.choice(len(val_idx), profile["validation_windows"], replace=False)))
    val_all = val_idx
    val_idx = val_idx.subset(slice(ctx.rank, None, ctx.world_size))

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    num_profiles = len(dataset.header["profiles"]) + 1
    model = build_model(doc, profile, observed, dataset.num_embeddings, num_profiles).to(device)
    torch.manual_seed(args.seed + 1000 * ctx.rank)  # distinct dropout masks per rank
    step_module = wrap(TrainStep(model, quantiles, profile["loss_weighting"]), ctx, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=profile["learning_rate"])

    world_batch = profile["batch_size"] * ctx.world_size
    steps_per_epoch = max(1, profile["windows_per_epoch"] // world_batch)
    n_params = sum(p.numel() for p in model.parameters())
    emit(ctx, {"event": "start", "profile": args.profile, "device": str(device), "world_size": ctx.world_size,
               "epochs": profile["max_epochs"], "steps_per_epoch": steps_per_epoch,
               "train_windows": len(train_idx), "validation_windows": len(val_all),
               "parameters": n_params, "threads": threads, "started_at": started_at})
    say(ctx, f"training {args.profile}: {len(dataset.servers)} servers, {len(train_idx)} train windows, "
             f"{len(val_all)} validation windows, {n_params} parameters, {steps_per_epoch} steps/epoch "
             f"on {device} x{ctx.world_size}")

    # validation, early stopping and the exported weights use the weight average (ema_decay; 0 = off)
    average = weight_average(model, profile["ema_decay"])

    def reduced_val_loss():
        with swapped_in(average):
            total, count = validation_loss(model, dataset, val_idx, cfg, device)
        total, count = all_reduce_sum([total, count], ctx, device)
        return total / max(count, 1)

    # Halve the learning rate after lr_decay_patience epochs without improvement (0 = constant):
    # the validation loss of a noisy objective keeps falling a little after each halving.
    decay = profile["lr_decay_patience"]
    scheduler = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=decay - 1,
                                                   threshold=profile["min_delta"], threshold_mode="abs")
        if decay > 0 else None
    )
    initial_val = reduced_val_loss()
    epochs, best_val, best_state, best_epoch, bad = [], float("inf"), None, 0, 0
    stopped_by = "max_epochs"
    train_started = time.time()
    step_seconds = []
    for epoch in range(1, profile["max_epochs"] + 1):
        ep_start = time.time()
        model.train()
        rng = np.random.default_rng([args.seed, epoch, ctx.rank])
        pick = rng.integers(0, len(train_idx), steps_per_epoch * profile["batch_size"])
        losses = []
        for step in range(steps_per_epoch):
            s0 = time.time()
            sel = pick[step * profile["batch_size"]:(step + 1) * profile["batch_size"]]
            b = gather(dataset, train_idx.rows[sel], train_idx.starts[sel], L, H, cfg["obs_idx"], cfg["target_idx"])
            # teach index 0 ("unknown") a fleet average: hide the id of a random share of samples
            b["server_idx"] = hide_ids(b["server_idx"], rng, profile["unknown_dropout"])
            b["profile_idx"] = hide_ids(b["profile_idx"], rng, profile["unknown_profile_dropout"])
            loss = step_module(to_tensors(b, device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), profile["gradient_clip_norm"])
            optimizer.step()
            average.update()
            losses.append(float(loss.detach()))
            step_seconds.append(time.time() - s0)
        train_loss = float(all_reduce_sum([float(np.mean(losses))], ctx, device)[0] / ctx.world_size)
        val_loss = reduced_val_loss()
        seconds = time.time() - ep_start
        if val_loss < best_val - profile["min_delta"]:
            best_val, best_epoch, bad = val_loss, epoch, 0
            best_state = average.averaged_state()
        else:
            bad += 1
        learning_rate = optimizer.param_groups[0]["lr"]
        if scheduler is not None:
            scheduler.step(val_loss)
        elapsed = time.time() - train_started
        remaining = profile["max_epochs"] - epoch
        eta = remaining * elapsed / epoch
        epochs.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "seconds": round(seconds, 3),
                       "learning_rate": learning_rate})
        emit(ctx, {"event": "epoch", "epoch": epoch, "epochs": profile["max_epochs"], "train_loss": train_loss,
                   "val_loss": val_loss, "best_epoch": best_epoch, "seconds": round(seconds, 3),
                   "eta_seconds": round(eta, 1), "learning_rate": learning_rate})
        say(ctx, f"epoch {epoch}/{profile['max_epochs']}: train {train_loss:.4f} val {val_loss:.4f} "
                 f"({seconds:.1f}s, eta {eta:.0f}s)")
        if not np.isfinite(train_loss) or not np.isfinite(val_loss):
            stopped_by = "non_finite_loss"
            break
        if bad >= profile["early_stopping_patience"]:
            stopped_by = "early_stopping"
            break
        # stop when another epoch would overrun the time budget (same decision on every rank)
        if remaining and any_rank(elapsed + elapsed / epoch > profile["max_train_seconds"], ctx, device):
            stopped_by = "time_budget"
            break
    train_seconds = time.time() - train_started
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    # holdout rows were never trained; make them row 0 so serving them matches what validation measures
    holdout_indices = sorted(s["index"] for s in dataset.servers if s["holdout"])
    model.copy_unknown_row(holdout_indices)
    converged, conv = convergence(epochs, initial_val, stopped_by, profile)

    if ctx.is_main:
        write_outputs(args, ctx, dataset, doc, profile, model, cfg, device, val_all, observed, num_profiles, {
                          "started_at": started_at, "started": started, "load_seconds": load_seconds,
                          "train_seconds": train_seconds, "step_seconds": step_seconds, "epochs": epochs,
                          "best_epoch": best_epoch, "best_val": best_val, "converged": converged,
                          "convergence": conv, "threads": threads, "n_params": n_params,
                          "steps_per_epoch": steps_per_epoch, "train_windows": len(train_idx),
                      })
    barrier(ctx)
    shutdown(ctx)


def write_outputs(args, ctx, dataset, doc, profile, model, cfg, device, val_all, observed, num_profiles, st):
    os.makedirs(args.out, exist_ok=True)
    core = model
    t0 = time.time()
    # q-risk on the (internal) validation windows: a sanity number; the gate uses the held-out window
    steps_per_day = 86400 // dataset.resolution
    metrics = q_risk_report(core, dataset, val_all, cfg, device, doc["targets"], steps_per_day)
    holdout = dataset.server_idx[val_all.rows] == 0
    by_group = {
        group: q_risk_report(core, dataset, val_all.subset(mask), cfg, device, doc["targets"], steps_per_day)
        if mask.any() else None
        for group, mask in (("known", ~holdout), ("holdout", holdout))
    }
    example = parity_inputs(core, 2, args.seed, observed, dataset.resolution, dataset.num_embeddings, num_profiles)
    cpu_model = export_onnx(core, os.path.join(args.out, "model.onnx"), example)
    write_json_atomic(os.path.join(args.out, "normalization.json"), normalization_doc(observed, doc["normalization"]))
    meta = {"input_names": INPUT_NAMES, "output_names": OUTPUT_NAMES, "lookback_steps": cfg["lookback"],
            "horizon_steps": cfg["horizon"], "observed_features": observed, "known_features": KNOWN_FEATURES,
            "targets": doc["targets"], "quantiles": doc["quantiles"]}
    write_parity(cpu_model, os.path.join(args.out, "parity.json"), meta, observed, dataset.resolution,
                 dataset.num_embeddings, num_profiles, args.seed)
    export_seconds = time.time() - t0
    train_lo, train_hi = window_range_epochs(dataset, 0, dataset.train_end)
    held_lo, held_hi = window_range_epochs(dataset, dataset.train_end, dataset.n_steps)
    steps = st["step_seconds"]
    report = {
        "format_version": 1,
        "trainer_version": __version__,
        "profile": args.profile,
        "hyperparameters": profile,
        "seed": args.seed,
        "targets": doc["targets"],
        "quantiles": doc["quantiles"],
        "observed_features": observed,
        "known_features": KNOWN_FEATURES,
        "resolution_seconds": dataset.resolution,
        "lookback_steps": cfg["lookback"],
        "horizon_steps": cfg["horizon"],
        "num_embeddings": dataset.num_embeddings,
        "holdout_indices": sorted(s["index"] for s in dataset.servers if s["holdout"]),
        "num_profiles": num_profiles,
        "parameters": st["n_params"],
        "torch_version": torch.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": st["threads"],
        "world_size": ctx.world_size,
        "backend": ctx.backend,
        "dataset": {
            "path": os.path.abspath(args.dataset),
            "source": dataset.header["source"],
            "created_at": dataset.header["created_at"],
            "n_servers": len(dataset.servers),
            "n_holdout_servers": sum(1 for s in dataset.servers if s["holdout"]),
            "n_steps": dataset.n_steps,
            "train_end_step": dataset.train_end,
        },
        "data_window": {"train_start": train_lo, "train_end": train_hi, "heldout_start": held_lo,
                        "heldout_end": held_hi},
        "windows": {"train_available": st["train_windows"], "validation": len(val_all),
                    "per_epoch": st["steps_per_epoch"] * profile["batch_size"] * ctx.world_size,
                    "steps_per_epoch": st["steps_per_epoch"]},
        "epochs": st["epochs"],
        "best_epoch": st["best_epoch"],
        "best_val_loss": st["best_val"] if np.isfinite(st["best_val"]) else None,
        "converged": st["converged"],
        "convergence": st["convergence"],
        "validation_metrics": metrics,
        "validation_p50_vs_naive_mean": mean_ratio(metrics),
        "validation_metrics_by_group": by_group,
        "durations": {
            "load_seconds": round(st["load_seconds"], 3),
            "train_seconds": round(st["train_seconds"], 3),
            "export_seconds": round(export_seconds, 3),
            "total_seconds": round(time.time() - st["started"], 3),
            "seconds_per_step_median": round(float(np.median(steps)), 4) if steps else None,
        },
        "started_at": st["started_at"],
        "finished_at": now_iso(),
        "files": {"model": "model.onnx", "normalization": "normalization.json", "parity": "parity.json"},
    }
    write_json_atomic(os.path.join(args.out, "train_report.json"), report)
    emit(ctx, {"event": "done", "out": os.path.abspath(args.out), "best_epoch": st["best_epoch"],
               "best_val_loss": report["best_val_loss"], "converged": st["converged"],
               "validation_p50_vs_naive_mean": report["validation_p50_vs_naive_mean"],
               "total_seconds": report["durations"]["total_seconds"]})
    say(ctx, f"done: best epoch {st['best_epoch']}, converged={st['converged']}, "
             f"P50 q-risk vs seasonal naive {report['validation_p50_vs_naive_mean']}")


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except DatasetError as err:
        sys.stderr.write(f"error: {err}\n")
        sys.stdout.write(json.dumps({"event": "error", "exit_code": 2, "message": str(err)}) + "\n")
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
