"""Everything a training run settles before the first step: device, threads, profile, dataset, windows.

Every bad argument, profile or dataset is a DatasetError (exit 2) raised here, before any training.
"""

import dataclasses
import os
import time
from dataclasses import dataclass

import numpy as np
import torch

from .metric_set import with_metric_set
from .data import Dataset, WindowIndex, check_targets_vary, load_dataset, split_windows
from .ddp import DistContext, init_distributed
from .errors import DatasetError
from .profiles import Profile, get_profile
from .progress import now_iso


@dataclass(frozen=True)
class RunSetup:
    profile_name: str
    profile: Profile  # after --epochs
    doc: dict  # the whole profiles document: targets, quantiles, normalization
    seed: int
    dataset_path: str
    out: str
    ctx: DistContext
    device: torch.device
    threads: int
    dataset: Dataset
    train_windows: WindowIndex
    validation_windows: WindowIndex  # the fixed validation sample, all ranks
    rank_validation_windows: WindowIndex  # this rank's shard of it
    cfg: dict  # window layout and batch settings for evaluate.py
    num_profiles: int  # profile embedding rows (profiles + 1 for "unknown")
    started: float  # time.time() at the start
    started_at: str
    load_seconds: float
    heldout_forecasts: bool = False  # also write the held-out window's forecasts (heldout.py)


def pick_device(choice):
    if choice == "cuda" and not torch.cuda.is_available():
        raise DatasetError("--device cuda: CUDA is not available")
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda")


def pick_threads(requested, device):
    if requested is not None and requested <= 0:
        raise DatasetError("--threads must be a positive integer")
    if requested is not None:
        return requested
    # all cores, split between the local processes of a CPU torchrun so ranks do not oversubscribe
    local_procs = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if device.type == "cpu" else 1
    return max(1, (os.cpu_count() or 1) // local_procs)


def load_profile(args):
    doc, profile = get_profile(args.profile, args.profiles)
    if args.epochs is not None:
        if args.epochs <= 0:
            raise DatasetError("--epochs must be a positive integer")
        profile = dataclasses.replace(profile, max_epochs=args.epochs)
    return doc, profile


def validation_sample(val_idx, profile, seed, ctx):
    """A fixed (seeded) sample of at most validation_windows, and this rank's shard of it."""
    vrng = np.random.default_rng(seed + 7919)
    if len(val_idx) > profile.validation_windows:
        val_idx = val_idx.subset(np.sort(vrng.choice(len(val_idx), profile.validation_windows, replace=False)))
    return val_idx, val_idx.subset(slice(ctx.rank, None, ctx.world_size))


def prepare(args):
    started, started_at = time.time(), now_iso()
    ctx, device = init_distributed(pick_device(args.device))
    threads = pick_threads(args.threads, device)
    torch.set_num_threads(threads)
    doc, profile = load_profile(args)
    t0 = time.time()
    dataset = load_dataset(args.dataset, profile.resolution_seconds)
    check_targets_vary(dataset.values, dataset.header)
    doc = with_metric_set(doc, dataset.header)
    targets = doc["targets"]
    L, H = profile.lookback_steps, profile.horizon_steps
    train_idx, val_idx = split_windows(dataset, L, H, profile.validation_steps)
    load_seconds = time.time() - t0
    observed = dataset.features
    cfg = {"lookback": L, "horizon": H, "obs_idx": list(range(len(observed))),
           "target_idx": [observed.index(t) for t in targets], "quantiles": doc["quantiles"],
           "batch_size": profile.batch_size,
           # validation samples windows uniformly: it weighs them as training draws them (window_sampling)
           # or weighs their loss (loss_weighting), so early stopping watches the objective trained on
           "loss_weighting": "raw_scale" if "raw_scale" in (profile.loss_weighting, profile.window_sampling)
           else profile.loss_weighting,
           "loss_weight_cap": profile.loss_weight_cap}
    val_all, val_rank = validation_sample(val_idx, profile, args.seed, ctx)
    return RunSetup(
        profile_name=args.profile, profile=profile, doc=doc, seed=args.seed, dataset_path=args.dataset,
        out=args.out, ctx=ctx, device=device, threads=threads, dataset=dataset, train_windows=train_idx,
        validation_windows=val_all, rank_validation_windows=val_rank, cfg=cfg,
        num_profiles=len(dataset.header["profiles"]) + 1, started=started, started_at=started_at,
        load_seconds=load_seconds, heldout_forecasts=bool(getattr(args, "heldout_forecasts", False)),
    )
