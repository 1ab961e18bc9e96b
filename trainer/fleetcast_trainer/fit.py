"""The training loop: Adam with gradient clipping, weight averaging, learning-rate halving and early
stopping, identical on every DistributedDataParallel rank.

The budget is epochs and steps (max_epochs, windows_per_epoch, early stopping), so the trained model
does not depend on how busy the machine is. max_train_seconds is only a guard against a runaway run:
when it stops training, the run is reported as not converged (stopped_by "time_budget") with a warning
on stderr and a "warning" event on stdout, never as a silent cut."""

import time
from dataclasses import dataclass

import numpy as np
import torch

from .data import gather, hide_ids, raw_scale_probabilities
from .ddp import all_reduce_sum, any_rank, wrap
from .ema import swapped_in, weight_average
from .loss import RAW_SCALE_WEIGHT_CAP
from .evaluate import forward_loss, to_tensors, validation_loss
from .model_factory import build_model
from .progress import emit, say


@dataclass(frozen=True)
class FitResult:
    model: torch.nn.Module  # best (averaged) weights, eval mode, holdout rows copied from row 0
    parameters: int
    steps_per_epoch: int
    epochs: list  # per epoch: epoch, train_loss, val_loss, seconds, learning_rate
    initial_val_loss: float  # the untrained model's
    best_epoch: int  # 0 when no epoch improved
    best_val_loss: float
    stopped_by: str  # max_epochs | early_stopping | time_budget | non_finite_loss
    train_seconds: float
    step_seconds: list


class TrainStep(torch.nn.Module):
    """Wraps the model so DistributedDataParallel sees the training forward pass."""

    def __init__(self, model, quantiles, weighting="none", weight_cap=RAW_SCALE_WEIGHT_CAP):
        super().__init__()
        self.model = model
        self.quantiles = quantiles
        self.weighting = weighting
        self.weight_cap = weight_cap

    def forward(self, t):
        return forward_loss(self.model, t, self.quantiles, self.weighting, self.weight_cap)


class BestEpoch:
    """Early-stopping bookkeeping: the best validation loss so far and its (averaged) weights."""

    def __init__(self):
        self.val_loss, self.epoch, self.state, self.bad_epochs = float("inf"), 0, None, 0

    def update(self, epoch, val_loss, average, min_delta):
        if val_loss < self.val_loss - min_delta:
            self.val_loss, self.epoch, self.bad_epochs = val_loss, epoch, 0
            self.state = average.averaged_state()
        else:
            self.bad_epochs += 1


def seeded_model(setup):
    """The same seed, data and thread count give the same initial weights (and, on CPU, the same run)."""
    torch.manual_seed(setup.seed)
    np.random.seed(setup.seed)
    if setup.device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    model = build_model(setup.doc, setup.profile, setup.dataset.features, setup.dataset.num_embeddings,
                        setup.num_profiles).to(setup.device)
    torch.manual_seed(setup.seed + 1000 * setup.ctx.rank)  # distinct dropout masks per rank
    return model


def lr_scheduler(optimizer, profile):
    # Halve the learning rate after lr_decay_patience epochs without improvement (0 = constant):
    # the validation loss of a noisy objective keeps falling a little after each halving.
    decay = profile.lr_decay_patience
    if decay <= 0:
        return None
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=decay - 1,
                                                      threshold=profile.min_delta, threshold_mode="abs")


def reduced_val_loss(setup, model, average):
    """Validation loss of the averaged weights over all ranks' shards."""
    with swapped_in(average):
        total, count = validation_loss(model, setup.dataset, setup.rank_validation_windows, setup.cfg, setup.device)
    total, count = all_reduce_sum([total, count], setup.ctx, setup.device)
    return total / max(count, 1)


def sampling_probabilities(setup):
    """None (uniform), or each training window's probability under window_sampling raw_scale."""
    p = setup.profile
    if p.window_sampling != "raw_scale":
        return None
    norm = setup.doc["normalization"]
    features = setup.dataset.features
    targets = setup.cfg["target_idx"]
    floors = [float(norm[features[f]]["std_floor"]) for f in targets]
    return raw_scale_probabilities(setup.dataset.values, setup.train_windows, p.lookback_steps, targets, floors,
                                   p.loss_weight_cap)


def train_epoch(setup, model, step_module, optimizer, average, epoch, steps_per_epoch, step_seconds, probs=None):
    """One epoch of seeded random windows; returns the mean training loss over all ranks."""
    p, ctx = setup.profile, setup.ctx
    model.train()
    rng = np.random.default_rng([setup.seed, epoch, ctx.rank])
    windows = setup.train_windows
    n = steps_per_epoch * p.batch_size
    pick = rng.integers(0, len(windows), n) if probs is None else rng.choice(len(windows), n, p=probs)
    losses = []
    for step in range(steps_per_epoch):
        s0 = time.time()
        sel = pick[step * p.batch_size:(step + 1) * p.batch_size]
        b = gather(setup.dataset, windows.rows[sel], windows.starts[sel], p.lookback_steps, p.horizon_steps,
                   setup.cfg["obs_idx"], setup.cfg["target_idx"])
        # teach index 0 ("unknown") a fleet average: hide the id of a random share of samples
        b["server_idx"] = hide_ids(b["server_idx"], rng, p.unknown_dropout)
        b["profile_idx"] = hide_ids(b["profile_idx"], rng, p.unknown_profile_dropout)
        loss = step_module(to_tensors(b, setup.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), p.gradient_clip_norm)
        optimizer.step()
        average.update()
        losses.append(float(loss.detach()))
        step_seconds.append(time.time() - s0)
    return float(all_reduce_sum([float(np.mean(losses))], ctx, setup.device)[0] / ctx.world_size)


def stop_reason(setup, train_loss, val_loss, best, epoch, elapsed):
    """Why training ends after this epoch, or None to go on."""
    p = setup.profile
    if not np.isfinite(train_loss) or not np.isfinite(val_loss):
        return "non_finite_loss"
    if best.bad_epochs >= p.early_stopping_patience:
        return "early_stopping"
    # guard: stop when another epoch would overrun max_train_seconds (same decision on every rank)
    remaining = p.max_epochs - epoch
    if remaining and any_rank(elapsed + elapsed / epoch > p.max_train_seconds, setup.ctx, setup.device):
        return "time_budget"
    return None


def warn_time_budget(setup, epoch, elapsed):
    """The guard fired: say so on stderr and as a stdout event; the run will not count as converged."""
    p = setup.profile
    message = (f"training stopped by the time guard max_train_seconds={p.max_train_seconds} after epoch {epoch} "
               f"of {p.max_epochs} planned ({elapsed:.0f}s, about {elapsed / epoch:.0f}s per epoch) before early "
               "stopping; the model is reported as not converged (stopped_by time_budget). The machine is slower "
               "or busier than the profile expects: raise max_train_seconds or train on a less loaded runner")
    say(setup.ctx, f"WARNING: {message}")
    emit(setup.ctx, {"event": "warning", "reason": "time_budget", "epoch": epoch, "epochs": p.max_epochs,
                     "elapsed_seconds": round(elapsed, 1), "max_train_seconds": p.max_train_seconds,
                     "message": message})


def announce(setup, steps_per_epoch, n_params):
    ctx, n_train, n_val = setup.ctx, len(setup.train_windows), len(setup.validation_windows)
    emit(ctx, {"event": "start", "profile": setup.profile_name, "device": str(setup.device),
               "world_size": ctx.world_size, "epochs": setup.profile.max_epochs, "steps_per_epoch": steps_per_epoch,
               "train_windows": n_train, "validation_windows": n_val, "parameters": n_params,
               "threads": setup.threads, "started_at": setup.started_at})
    say(ctx, f"training {setup.profile_name}: {len(setup.dataset.servers)} servers, {n_train} train windows, "
             f"{n_val} validation windows, {n_params} parameters, {steps_per_epoch} steps/epoch "
             f"on {setup.device} x{ctx.world_size}")


def report_epoch(setup, record, best_epoch, seconds, eta):
    p = setup.profile
    emit(setup.ctx, {"event": "epoch", "epoch": record["epoch"], "epochs": p.max_epochs,
                     "train_loss": record["train_loss"], "val_loss": record["val_loss"], "best_epoch": best_epoch,
                     "seconds": record["seconds"], "eta_seconds": round(eta, 1),
                     "learning_rate": record["learning_rate"]})
    say(setup.ctx, f"epoch {record['epoch']}/{p.max_epochs}: train {record['train_loss']:.4f} "
                   f"val {record['val_loss']:.4f} ({seconds:.1f}s, eta {eta:.0f}s)")


def fit(setup):
    """Trains a freshly seeded model; returns it with the best validation weights restored."""
    p, ctx = setup.profile, setup.ctx
    model = seeded_model(setup)
    step_module = wrap(TrainStep(model, setup.doc["quantiles"], p.loss_weighting, p.loss_weight_cap), ctx, setup.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=p.learning_rate)
    steps_per_epoch = max(1, p.windows_per_epoch // (p.batch_size * ctx.world_size))
    n_params = sum(t.numel() for t in model.parameters())
    announce(setup, steps_per_epoch, n_params)
    # validation, early stopping and the exported weights use the weight average (ema_decay; 0 = off)
    average = weight_average(model, p.ema_decay)
    scheduler = lr_scheduler(optimizer, p)
    initial_val = reduced_val_loss(setup, model, average)
    probs = sampling_probabilities(setup)
    best, epochs, step_seconds, stopped_by = BestEpoch(), [], [], "max_epochs"
    train_started = time.time()
    for epoch in range(1, p.max_epochs + 1):
        ep_start = time.time()
        train_loss = train_epoch(setup, model, step_module, optimizer, average, epoch, steps_per_epoch, step_seconds,
                                 probs)
        val_loss = reduced_val_loss(setup, model, average)
        seconds = time.time() - ep_start
        best.update(epoch, val_loss, average, p.min_delta)
        learning_rate = optimizer.param_groups[0]["lr"]  # the rate this epoch trained with
        if scheduler is not None:
            scheduler.step(val_loss)
        elapsed = time.time() - train_started
        eta = (p.max_epochs - epoch) * elapsed / epoch
        epochs.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "seconds": round(seconds, 3),
                       "learning_rate": learning_rate})
        report_epoch(setup, epochs[-1], best.epoch, seconds, eta)
        reason = stop_reason(setup, train_loss, val_loss, best, epoch, elapsed)
        if reason:
            stopped_by = reason
            if reason == "time_budget":
                warn_time_budget(setup, epoch, elapsed)
            break
    train_seconds = time.time() - train_started
    if best.state is not None:
        model.load_state_dict(best.state)
    model.eval()
    # holdout rows were never trained; make them row 0 so serving them matches what validation measures
    model.copy_unknown_row(sorted(s["index"] for s in setup.dataset.servers if s["holdout"]))
    return FitResult(model=model, parameters=n_params, steps_per_epoch=steps_per_epoch, epochs=epochs,
                     initial_val_loss=initial_val, best_epoch=best.epoch, best_val_loss=best.val_loss,
                     stopped_by=stopped_by, train_seconds=train_seconds, step_seconds=step_seconds)
