"""Forecasts of the dataset's held-out window in the peers' layout (docs/peers.md), for comparing the
TFT with the peers on exactly the same windows (`python3 -m fleetcast_trainer.compare`).

Origins are train_end_step, + horizon, ... while origin + horizon <= n_steps (src/validate/heldout.ts's
loop with its default stride). A window whose lookback has a missing value is NaN (heldout.ts skips it).
Two arrays: the model as served (each known server through its own embedding row; holdout servers
through row 0) and every server through the unknown row 0, which measures what the unknown slot costs.
"""

import json
import os

import numpy as np
import torch

from .data import gather
from .evaluate import to_tensors
from .io import write_json_atomic
from .peers.output import LAYOUT, write_array

HELDOUT_MANIFEST = "heldout_forecasts.json"


def heldout_origins(dataset, lookback, horizon):
    start = max(dataset.train_end, lookback)
    return np.arange(start, dataset.n_steps - horizon + 1, horizon, dtype=np.int64)


def forecast_heldout(model, dataset, cfg, device, unknown=False):
    """[S, O, H, T, Q] raw forecasts (NaN where the lookback has a missing value)."""
    L, H = cfg["lookback"], cfg["horizon"]
    origins = heldout_origins(dataset, L, H)
    S = len(dataset.servers)
    out = np.full((S, len(origins), H, len(cfg["target_idx"]), len(cfg["quantiles"])), np.nan, np.float32)
    rows = np.repeat(np.arange(S), len(origins))
    cols = np.tile(np.arange(len(origins)), S)
    starts = origins[cols] - L
    past = dataset.values[rows[:, None], starts[:, None] + np.arange(L)[None, :]]
    ok = ~np.isnan(past).any(axis=(1, 2))
    rows, cols, starts = rows[ok], cols[ok], starts[ok]
    model.eval()
    with torch.no_grad():
        for i in range(0, len(rows), 256):
            r, s = rows[i:i + 256], starts[i:i + 256]
            b = gather(dataset, r, s, L, H, cfg["obs_idx"], cfg["target_idx"])
            if unknown:
                b["server_idx"] = np.zeros_like(b["server_idx"])
            t = to_tensors(b, device)
            pred = model(t["server_idx"], t["profile_idx"], t["past_observed"], t["past_known"], t["future_known"])
            out[r, cols[i:i + 256]] = pred.cpu().numpy()
    return origins, out


def write_heldout_forecasts(setup, model):
    """heldout_tft.f32 (as served), heldout_tft_unknown.f32 (every server as index 0) and
    heldout_forecasts.json into --out."""
    files = {}
    for name, unknown in (("heldout_tft", False), ("heldout_tft_unknown", True)):
        origins, values = forecast_heldout(model, setup.dataset, setup.cfg, setup.device, unknown)
        file, digest = write_array(setup.out, name, values)
        files[name] = {"file": file, "sha256": digest}
    write_json_atomic(os.path.join(setup.out, HELDOUT_MANIFEST), {
        "format_version": 1, "layout": LAYOUT, "servers": [s["name"] for s in setup.dataset.servers],
        "origins": [int(o) for o in origins], "shape": list(values.shape), "targets": setup.doc["targets"],
        "quantiles": setup.doc["quantiles"], "files": files,
    })


def read_heldout(out_dir, name="heldout_tft"):
    with open(os.path.join(out_dir, HELDOUT_MANIFEST), "r", encoding="utf-8") as fh:
        doc = json.load(fh)
    values = np.fromfile(os.path.join(out_dir, doc["files"][name]["file"]), dtype="<f4").reshape(doc["shape"])
    return doc, values
