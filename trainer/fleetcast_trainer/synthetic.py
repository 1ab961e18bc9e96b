"""Writes a synthetic dataset in the training format (docs/MODEL_FORMAT.md), for tests and benchmarks.

`python3 -m fleetcast_trainer.synthetic --out DIR --servers 400 --days 30 --resolution 900`
"""

import argparse
import json
import os

import numpy as np

from .metric_set import CONTRACT_METRICS, CONTRACT_TARGETS

FEATURES = ["cpu_pct", "mem_pct", "disk_io_mbps", "net_in_mbps", "net_out_mbps", "latency_ms", "error_rate"]
PROFILES = ["api", "batch", "cache", "database", "web"]
START_EPOCH = 1793059200  # 2026-10-27T00:00:00Z, a Tuesday


def _ar1(rng, n_series, n_steps, phi, sigma):
    noise = rng.normal(0.0, sigma, size=(n_series, n_steps))
    out = np.empty_like(noise)
    out[:, 0] = noise[:, 0]
    for t in range(1, n_steps):
        out[:, t] = phi * out[:, t - 1] + noise[:, t]
    return out


def generate(n_servers, days, resolution, seed=0, holdout_every=0, nan_fraction=0.0):
    """Returns (header dict, float32 array [n_servers, n_steps, 7])."""
    rng = np.random.default_rng(seed)
    n_steps = days * 86400 // resolution
    t = START_EPOCH + resolution * np.arange(n_steps)
    hour = (t % 86400) / 3600.0
    dow = ((t // 86400) + 3) % 7
    weekend = (dow >= 5).astype(np.float64)
    profile_of = rng.integers(0, len(PROFILES), size=n_servers)
    peak = np.array([14.0, 2.0, 12.0, 10.0, 20.0])[profile_of] + rng.normal(0, 1.5, n_servers)
    base = np.array([35.0, 50.0, 20.0, 45.0, 30.0])[profile_of] * rng.uniform(0.6, 1.4, n_servers)
    amp = np.array([25.0, 30.0, 10.0, 15.0, 30.0])[profile_of] * rng.uniform(0.5, 1.5, n_servers)
    weekly = np.array([0.5, 0.1, 0.3, 0.4, 0.6])[profile_of]

    phase = 2 * np.pi * (hour[None, :] - peak[:, None]) / 24.0
    daily = 0.5 * (1 + np.cos(phase)) ** 2 / 2.0  # sharp daily peak, 0..1
    load = daily * (1 - weekly[:, None] * weekend[None, :])
    cpu = base[:, None] + amp[:, None] * load + _ar1(rng, n_servers, n_steps, 0.8, 3.0)
    cpu = np.clip(cpu, 0.5, 100.0)
    mem_base = rng.uniform(30, 75, n_servers)
    mem = mem_base[:, None] + 8 * load + np.cumsum(rng.normal(0, 0.05, (n_servers, n_steps)), axis=1)
    mem = np.clip(mem + _ar1(rng, n_servers, n_steps, 0.9, 0.7), 1.0, 100.0)
    lat_base = rng.lognormal(np.log(40), 0.5, n_servers)
    latency = lat_base[:, None] * np.exp(1.5 * (cpu / 100.0) ** 2 + _ar1(rng, n_servers, n_steps, 0.6, 0.15))
    spikes = rng.random((n_servers, n_steps)) < 0.004
    latency = latency * np.where(spikes, rng.uniform(3, 10, (n_servers, n_steps)), 1.0)
    disk = np.exp(np.log(rng.uniform(5, 80, n_servers))[:, None] + 1.2 * load + _ar1(rng, n_servers, n_steps, 0.5, 0.3))
    net_in = np.exp(np.log(rng.uniform(10, 200, n_servers))[:, None] + 1.5 * load
                    + _ar1(rng, n_servers, n_steps, 0.7, 0.2))
    net_out = net_in * rng.uniform(0.5, 3.0, n_servers)[:, None] * np.exp(rng.normal(0, 0.1, (n_servers, n_steps)))
    error_rate = np.clip(0.002 * np.exp(3 * load) * rng.lognormal(0, 0.5, (n_servers, n_steps)), 0, 1)
    values = np.stack([cpu, mem, disk, net_in, net_out, latency, error_rate], axis=-1).astype(np.float32)
    if nan_fraction > 0:
        # whole-step gaps in runs, like missing scrapes
        for s in range(n_servers):
            n_gaps = int(nan_fraction * n_steps / 8)
            for g in rng.integers(0, n_steps - 8, n_gaps):
                values[s, g:g + 8] = np.nan

    servers = []
    for s in range(n_servers):
        p = PROFILES[profile_of[s]]
        servers.append({
            "name": f"{p}-{s + 1:04d}", "index": s + 1, "profile": p,
            "profile_index": int(profile_of[s]) + 1,
            "holdout": bool(holdout_every and (s + 1) % holdout_every == 0),
        })
    steps_per_day = 86400 // resolution
    header = {
        "format_version": 1,
        "created_at": "2026-11-26T00:00:00.000Z",
        "source": f"synthetic seed={seed}",
        "start": "2026-10-27T00:00:00.000Z",
        "resolution_seconds": resolution,
        "n_steps": int(n_steps),
        "fill_limit_steps": 4,
        "features": FEATURES,
        "targets": CONTRACT_TARGETS,
        "metrics": {f: CONTRACT_METRICS[f] for f in FEATURES},
        "profiles": PROFILES,
        "servers": servers,
        "split": {"train_end_step": int(n_steps - steps_per_day), "valid_end_step": int(n_steps)},
    }
    return header, values


def write_dataset(directory, header, values):
    os.makedirs(directory, exist_ok=True)
    values.astype("<f4").tofile(os.path.join(directory, "dataset.f32"))
    with open(os.path.join(directory, "dataset.json"), "w", encoding="utf-8") as fh:
        json.dump(header, fh, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--servers", type=int, default=400)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--resolution", type=int, default=900)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--holdout-every", type=int, default=20, help="every k-th server is holdout (0: none)")
    args = ap.parse_args()
    header, values = generate(args.servers, args.days, args.resolution, args.seed, args.holdout_every)
    write_dataset(args.out, header, values)


if __name__ == "__main__":
    main()
