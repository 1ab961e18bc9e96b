"""Seconds per training step for candidate shapes (resolution, lookback, horizon, hidden, batch).

python3 -m fleetcast_trainer.benchmark [--steps 8] [--threads N]
Prints one JSON line per configuration. Used to choose the profiles (docs/trainer.md).
"""

import argparse
import dataclasses
import json
import os
import time

import numpy as np
import torch

from .data import gather
from .evaluate import forward_loss, to_tensors
from .metric_set import with_metric_set
from .model_factory import build_model
from .profiles import get_profile
from .synthetic import generate

CONFIGS = [
    # resolution_seconds, lookback, horizon, hidden, heads, batch
    (1800, 48, 12, 16, 4, 64),
    (1800, 48, 12, 12, 4, 128),
    (900, 96, 24, 16, 4, 128),
    (900, 96, 24, 32, 4, 128),
    (900, 192, 24, 16, 4, 128),
    (1800, 48, 12, 16, 4, 128),
    (1800, 96, 24, 16, 4, 128),
    (3600, 24, 6, 16, 4, 128),
]


class _Data:
    def __init__(self, values, resolution):
        from .features import step_times, time_features
        self.values = values
        self.known = time_features(step_times(1793059200, resolution, values.shape[1]))
        self.server_idx = np.arange(1, values.shape[0] + 1)
        self.profile_idx = np.ones(values.shape[0], dtype=np.int64)


def time_config(doc, base, res, L, H, hidden, heads, batch, steps, servers=64):
    header, values = generate(servers, 10, res, seed=1)
    data = _Data(values, res)
    # the model the documented timings were taken with: no seasonal residual or lags, the whole window encoded
    profile = dataclasses.replace(base, resolution_seconds=res, lookback_steps=L, horizon_steps=H, hidden_size=hidden,
                                  attention_heads=heads, dropout=0.1, seasonal_residual=False,
                                  decoder_seasonal_lags=False, encoder_steps=0)
    observed = header["features"]
    doc = with_metric_set(doc, header)
    torch.manual_seed(0)
    model = build_model(doc, profile, observed, servers + 1, 6)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    tidx = [observed.index(t) for t in doc["targets"]]
    times, cpu_times = [], []
    for i in range(steps + 2):
        rows = rng.integers(0, servers, batch)
        starts = rng.integers(0, values.shape[1] - L - H, batch)
        t0, c0 = time.time(), time.process_time()
        t = to_tensors(gather(data, rows, starts, L, H, list(range(len(observed))), tidx), "cpu")
        loss = forward_loss(model, t, doc["quantiles"])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= 2:  # warm-up
            times.append(time.time() - t0)
            cpu_times.append(time.process_time() - c0)
    return float(np.median(times)), float(np.median(cpu_times)), sum(p.numel() for p in model.parameters())


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--only", type=int, nargs="*", help="indices into the configuration list")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    doc, base = get_profile("smoke")
    for i, (res, L, H, hidden, heads, batch) in enumerate(CONFIGS):
        if args.only and i not in args.only:
            continue
        sec, cpu, params = time_config(doc, base, res, L, H, hidden, heads, batch, args.steps)
        print(json.dumps({"resolution_seconds": res, "lookback_steps": L, "horizon_steps": H, "hidden_size": hidden,
                          "batch_size": batch, "parameters": params, "seconds_per_step": round(sec, 4),
                          "cpu_seconds_per_step": round(cpu, 4),
                          "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
