"""Scores TFT runs and the peers on the same held-out windows and points (docs/trainer.md, "Real data").

python3 -m fleetcast_trainer.compare --dataset DIR --peers PEERS_OUT --tft NAME=TRAIN_OUT [--tft ...]
    [--unknown] [--ensemble] [--lookback 96] [--group all|known|unknown] [--json FILE]

TRAIN_OUT is a trainer output written with `train --heldout-forecasts`; PEERS_OUT a
`python3 -m fleetcast_trainer.peers` output for the same dataset. q-risk = 2·Σpinball/Σ|y| on raw values,
per target and quantile, over the windows whose `--lookback` steps are complete (heldout.ts's rule) and
the points where every compared model is finite (peers/score.py, the rules of src/validate/scoring.ts).
Peer forecasts are clipped to the dataset's metric ranges and sorted, as a peer_request.json with
`bounds` would make them. `--unknown` adds each run served entirely through the unknown index 0;
`--ensemble` adds the quantile-wise mean of all --tft runs. `persistence` (the last value before the
origin, at every quantile and step) is always scored too: on real VMs it is a much stronger reference
than one-day seasonal naive.
"""

import argparse
import json
import sys

import numpy as np

from .data import load_dataset
from .heldout import read_heldout
from .peers import score as scoring
from .peers.request import parse_request
from .peers.series import Panel


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="fleetcast_trainer.compare", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--peers", default=None, help="peers output directory (forecasts.json)")
    ap.add_argument("--tft", action="append", default=[], help="NAME=DIR of a train --heldout-forecasts run")
    ap.add_argument("--unknown", action="store_true", help="also score each run with every server as index 0")
    ap.add_argument("--ensemble", action="store_true", help="also score the mean of all --tft runs")
    ap.add_argument("--lookback", type=int, default=96, help="windows need this many complete steps before the origin")
    ap.add_argument("--group", default="all", choices=scoring.GROUPS)
    ap.add_argument("--json", default=None, help="write the score entries here")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table of P50 and P90 instead")
    return ap.parse_args(argv)


def bounded(values, panel, bounds):
    out = np.array(values, dtype=np.float64)
    for t, target in enumerate(panel.targets):
        lo, hi = bounds[target]
        out[:, :, :, t] = np.clip(out[:, :, :, t], -np.inf if lo is None else lo, np.inf if hi is None else hi)
    bad = np.isnan(out).any(axis=-1, keepdims=True)
    return np.where(bad, np.nan, np.sort(out, axis=-1))


def markdown(entries, group):
    """| model | <target> P50 | <target> P90 | ... | with q-risk to 4 decimals."""
    by = {(e["model"], e["target"], e["quantile"]): e["q_risk"] for e in entries if e["group"] == group}
    cols = [(t, q) for t, q in dict.fromkeys((e["target"], e["quantile"]) for e in entries) if q in (0.5, 0.9)]
    lines = ["| model | " + " | ".join(f"{t} P{round(q * 100)}" for t, q in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for mdl in dict.fromkeys(e["model"] for e in entries):
        cells = [by.get((mdl, t, q)) for t, q in cols]
        lines.append(f"| {mdl} | " + " | ".join("–" if v is None else f"{v:.4f}" for v in cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    dataset = load_dataset(args.dataset)
    header = dataset.header
    bounds = {t: (header["metrics"][t]["min"], header["metrics"][t]["max"]) for t in header["targets"]}
    request = parse_request({"format_version": 1, "lookback_steps": args.lookback,
                             "bounds": {t: {"min": lo, "max": hi} for t, (lo, hi) in bounds.items()}},
                            header, "compare")
    panel = Panel(dataset, request)
    models = {}
    for spec in args.tft:
        name, _, path = spec.partition("=")
        doc, values = read_heldout(path)
        if doc["origins"] != [int(o) for o in panel.origins] or doc["targets"] != panel.targets:
            sys.exit(f"{path}: held-out origins or targets differ from the dataset's")
        models[name] = values.astype(np.float64)
        if args.unknown:
            models[f"{name}/unknown"] = read_heldout(path, "heldout_tft_unknown")[1].astype(np.float64)
    if args.ensemble and len(args.tft) > 1:
        names = [s.partition("=")[0] for s in args.tft]
        models["ensemble"] = np.mean([models[n] for n in names], axis=0)
    if args.peers:
        with open(f"{args.peers}/forecasts.json", "r", encoding="utf-8") as fh:
            manifest = json.load(fh)
        if manifest["origins"] != [int(o) for o in panel.origins]:
            sys.exit(f"{args.peers}: origins differ from the dataset's")
        for peer, info in manifest["peers"].items():
            raw = np.fromfile(f"{args.peers}/{info['file']}", dtype="<f4").reshape(manifest["shape"])
            models[peer] = bounded(raw, panel, bounds)
    last = panel.raw[:, :, panel.origins - 1].transpose(0, 2, 1)  # [S, O, T]
    models["persistence"] = np.repeat(np.repeat(last[:, :, None, :, None], panel.horizon, axis=2),
                                      len(panel.quantiles), axis=4)
    windows = panel.lookback_complete(args.lookback)
    entries = scoring.score(panel, models, windows)
    points = {e["group"]: e["points"] for e in entries if e["model"] == scoring.SEASONAL_NAIVE}
    print(f"{int(windows.sum())} windows; points per target ({args.group}): {points[args.group]}")
    print(markdown(entries, args.group) if args.markdown else scoring.table(entries, args.group))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"windows": int(windows.sum()), "scores": entries}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
