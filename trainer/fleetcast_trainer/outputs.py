"""Writes a finished run into --out: model.onnx, normalization.json, parity.json and train_report.json."""

import os
import time
from dataclasses import dataclass

import numpy as np
import torch

from . import __version__
from .convergence import Convergence
from .data import window_range_epochs
from .evaluate import mean_ratio, q_risk_report
from .export import INPUT_NAMES, OUTPUT_NAMES, export_onnx, normalization_doc, parity_inputs, write_parity
from .features import KNOWN_FEATURES
from .fit import FitResult
from .heldout import write_heldout_forecasts
from .io import write_json_atomic
from .prepare import RunSetup
from .progress import emit, now_iso, say


@dataclass(frozen=True)
class TrainResult:
    setup: RunSetup
    fit: FitResult
    convergence: Convergence


def validation_metrics(setup, model):
    """q-risk on the (internal) validation windows, overall and for known / holdout servers: a sanity
    number; the gate uses the held-out window."""
    steps_per_day = 86400 // setup.dataset.resolution
    targets, val_all = setup.doc["targets"], setup.validation_windows

    def report(index):
        return q_risk_report(model, setup.dataset, index, setup.cfg, setup.device, targets, steps_per_day)

    overall = report(val_all)
    holdout = setup.dataset.server_idx[val_all.rows] == 0
    by_group = {group: report(val_all.subset(mask)) if mask.any() else None
                for group, mask in (("known", ~holdout), ("holdout", holdout))}
    return overall, by_group


def export_files(setup, model):
    """model.onnx, normalization.json and parity.json."""
    dataset, observed, out = setup.dataset, setup.dataset.features, setup.out
    example = parity_inputs(model, 2, setup.seed, observed, dataset.resolution, dataset.num_embeddings,
                            setup.num_profiles)
    cpu_model = export_onnx(model, os.path.join(out, "model.onnx"), example)
    write_json_atomic(os.path.join(out, "normalization.json"), normalization_doc(observed, setup.doc["normalization"]))
    meta = {"input_names": INPUT_NAMES, "output_names": OUTPUT_NAMES, "lookback_steps": setup.cfg["lookback"],
            "horizon_steps": setup.cfg["horizon"], "observed_features": observed, "known_features": KNOWN_FEATURES,
            "targets": setup.doc["targets"], "quantiles": setup.doc["quantiles"]}
    write_parity(cpu_model, os.path.join(out, "parity.json"), meta, observed, dataset.resolution,
                 dataset.num_embeddings, setup.num_profiles, setup.seed)


def dataset_sections(setup):
    """The report's "dataset" and "data_window"."""
    dataset = setup.dataset
    train_lo, train_hi = window_range_epochs(dataset, 0, dataset.train_end)
    held_lo, held_hi = window_range_epochs(dataset, dataset.train_end, dataset.n_steps)
    return {
        "path": os.path.abspath(setup.dataset_path),
        "source": dataset.header["source"],
        "created_at": dataset.header["created_at"],
        "n_servers": len(dataset.servers),
        "n_holdout_servers": sum(1 for s in dataset.servers if s["holdout"]),
        "n_steps": dataset.n_steps,
        "train_end_step": dataset.train_end,
    }, {"train_start": train_lo, "train_end": train_hi, "heldout_start": held_lo, "heldout_end": held_hi}


def train_report(result, metrics, by_group, export_seconds):
    """train_report.json (docs/trainer.md, "train_report.json keys")."""
    setup, fit = result.setup, result.fit
    ctx, device, dataset, doc = setup.ctx, setup.device, setup.dataset, setup.doc
    dataset_section, data_window = dataset_sections(setup)
    steps = fit.step_seconds
    return {
        "format_version": 1,
        "trainer_version": __version__,
        "profile": setup.profile_name,
        "hyperparameters": setup.profile.as_dict(),
        "seed": setup.seed,
        "targets": doc["targets"],
        "quantiles": doc["quantiles"],
        "observed_features": dataset.features,
        "known_features": KNOWN_FEATURES,
        "resolution_seconds": dataset.resolution,
        "lookback_steps": setup.cfg["lookback"],
        "horizon_steps": setup.cfg["horizon"],
        "num_embeddings": dataset.num_embeddings,
        "holdout_indices": sorted(s["index"] for s in dataset.servers if s["holdout"]),
        "num_profiles": setup.num_profiles,
        "parameters": fit.parameters,
        "torch_version": torch.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": setup.threads,
        "world_size": ctx.world_size,
        "backend": ctx.backend,
        "dataset": dataset_section,
        "data_window": data_window,
        "windows": {"train_available": len(setup.train_windows), "validation": len(setup.validation_windows),
                    "per_epoch": fit.steps_per_epoch * setup.profile.batch_size * ctx.world_size,
                    "steps_per_epoch": fit.steps_per_epoch},
        "epochs": fit.epochs,
        "best_epoch": fit.best_epoch,
        "best_val_loss": fit.best_val_loss if np.isfinite(fit.best_val_loss) else None,
        "converged": result.convergence.converged,
        "convergence": result.convergence.details,
        "validation_metrics": metrics,
        "validation_p50_vs_naive_mean": mean_ratio(metrics),
        "validation_metrics_by_group": by_group,
        "durations": {
            "load_seconds": round(setup.load_seconds, 3),
            "train_seconds": round(fit.train_seconds, 3),
            "export_seconds": round(export_seconds, 3),
            "total_seconds": round(time.time() - setup.started, 3),
            "seconds_per_step_median": round(float(np.median(steps)), 4) if steps else None,
        },
        "started_at": setup.started_at,
        "finished_at": now_iso(),
        "files": {"model": "model.onnx", "normalization": "normalization.json", "parity": "parity.json"},
    }


def write_outputs(result):
    """Rank 0 only: every file into --out (each atomically), then the "done" event."""
    setup, model = result.setup, result.fit.model
    os.makedirs(setup.out, exist_ok=True)
    t0 = time.time()
    metrics, by_group = validation_metrics(setup, model)
    export_files(setup, model)
    if setup.heldout_forecasts:
        write_heldout_forecasts(setup, model)
    report = train_report(result, metrics, by_group, time.time() - t0)
    write_json_atomic(os.path.join(setup.out, "train_report.json"), report)
    converged = result.convergence.converged
    emit(setup.ctx, {"event": "done", "out": os.path.abspath(setup.out), "best_epoch": result.fit.best_epoch,
                     "best_val_loss": report["best_val_loss"], "converged": converged,
                     "stopped_by": result.fit.stopped_by,
                     "validation_p50_vs_naive_mean": report["validation_p50_vs_naive_mean"],
                     "total_seconds": report["durations"]["total_seconds"]})
    say(setup.ctx, f"done: best epoch {result.fit.best_epoch}, converged={converged} "
                   f"(stopped by {result.fit.stopped_by}), "
                   f"P50 q-risk vs seasonal naive {report['validation_p50_vs_naive_mean']}")
