"""The converged / not converged verdict of train_report.json (docs/trainer.md, "Convergence criterion")."""

from dataclasses import dataclass

import numpy as np

CONVERGENCE_CRITERION = (
    "training was not cut by the time guard (stopped_by is not time_budget); all losses finite; best "
    "validation loss at least convergence_min_improvement (relative) below the "
    "validation loss of the untrained model; and the run plateaued: early stopping fired, or the best "
    "validation loss improved by at most convergence_plateau_tolerance (relative) over the last "
    "early_stopping_patience epochs"
)


@dataclass(frozen=True)
class Convergence:
    converged: bool
    details: dict  # train_report.json "convergence": the values behind the verdict


def decide_convergence(epochs, initial_val, stopped_by, profile):
    """epochs: the per-epoch records ({"train_loss", "val_loss", ...}); initial_val: the untrained
    model's validation loss; stopped_by: why the epoch loop ended."""
    vals = [e["val_loss"] for e in epochs]
    finite = all(np.isfinite([e["train_loss"] for e in epochs] + vals + [initial_val]))
    best = min(vals) if vals else float("nan")
    improvement = (1.0 - best / initial_val) if finite and initial_val > 0 else None
    k = profile.early_stopping_patience
    if len(vals) > k:
        before = min(vals[:-k])
        recent = (before - best) / abs(before) if before else 0.0
    else:
        recent = None
    plateau = stopped_by == "early_stopping" or (recent is not None and recent <= profile.convergence_plateau_tolerance)
    # the time guard cuts a run before it is done: never a converged run, whatever the losses say
    converged = bool(stopped_by != "time_budget" and finite and improvement is not None
                     and improvement >= profile.convergence_min_improvement and plateau)
    return Convergence(converged, {
        "criterion": CONVERGENCE_CRITERION,
        "initial_val_loss": initial_val if np.isfinite(initial_val) else None,
        "best_val_loss": best if np.isfinite(best) else None,
        "relative_improvement": improvement,
        "min_improvement": profile.convergence_min_improvement,
        "recent_relative_improvement": recent,
        "plateau_tolerance": profile.convergence_plateau_tolerance,
        "plateau_epochs": k,
        "stopped_by": stopped_by,
        "finite": bool(finite),
    })
